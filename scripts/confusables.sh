#!/bin/sh
# Regenerates pkg/users/names/confusables_table.go, the UTS #39 confusables
# data that names.Skeleton applies (`go generate ./pkg/users/names` runs this).
#
# The data is Unicode's confusables.txt as the crates.io package
# unicode-security ships it (src/tables.rs, written by that crate's
# scripts/unicode.py from confusables.txt, one entry per line of it). cargo
# fetches the crate at a pinned version and checks the crate's checksum from
# the registry index; we also pin the digest of tables.rs itself, so a new
# version is a deliberate edit of the two lines below.
set -eu

CRATE_VERSION=0.1.3 # Unicode 18.0.0
TABLES_SHA256=2ba8a202ed26da430d3e488b91537f8922f930e022e7f9b0d28896278985ab2c

root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/src"
cat >"$work/Cargo.toml" <<TOML
[package]
name = "rotor-confusables-fetch"
version = "0.0.0"
edition = "2021"

[dependencies]
unicode-security = "=$CRATE_VERSION"
TOML
: >"$work/src/lib.rs"
(cd "$work" && cargo fetch --quiet)
dir=$(cd "$work" && cargo metadata --format-version 1 --quiet |
	python3 -c 'import json,sys; print(next(p["manifest_path"] for p in json.load(sys.stdin)["packages"] if p["name"] == "unicode-security").rsplit("/", 1)[0])')
tables="$dir/src/tables.rs"
echo "$TABLES_SHA256  $tables" | sha256sum -c --quiet -

cd "$root"
go run ./pkg/users/names/gen -src "$tables" \
	-from "crates.io unicode-security $CRATE_VERSION src/tables.rs (sha256 $TABLES_SHA256)" \
	-out pkg/users/names/confusables_table.go
