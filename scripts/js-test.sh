#!/usr/bin/env bash
# Builds and tests the TypeScript client (clients/js) with node's test runner.
# Usage: scripts/js-test.sh   (works in CI: no prompts, no stdin)
set -euo pipefail
cd "$(dirname "$0")/../clients/js"
export CI="${CI:-true}" npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false
npm ci --no-progress
npm run build
npm test
