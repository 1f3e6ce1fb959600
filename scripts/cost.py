#!/usr/bin/env python3
"""cost.py: Rotor's monthly AWS cost for a stated workload, deployment by
deployment (the recommended one, the template's old defaults, and each option
beside them), beside the list prices of hosted auth services, for the worst
case and a typical workload. Writes docs/COST.md and docs/cost.png (`make
cost`, which runs it in .venv/cost with matplotlib).

Inputs, each named in COST.md:
  * DynamoDB request units per flow: measured now by `go run ./bench/flowcost`
    (the real flows on the DynamoDB store against moto_server, item sizes
    read back);
  * memory size per function: parsed from template.yaml (the recommended
    deployment is the template's defaults);
  * CPU time per flow, cold-start init and log bytes per flow: MEASURED below,
    from BENCHMARKS.md and `go test -run TestLogLinesPerFlow -v ./pkg/admin/`;
  * prices: PRICES below (us-east-1 list prices, each with the page it was
    read from and the date);
  * the workloads: WORKLOADS below; the deployments: DEPLOYMENTS below.

    .venv/cost/bin/python scripts/cost.py [--flows flows.json]
"""
import argparse
import json
import math
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# ---------------------------------------------------------------- workloads
WORKLOADS = {
    # The model: every user active 8 hours every day, the worst case
    # for a pay-per-request service.
    "worst": {
        "label": "worst case: every MAU active 8 h every day",
        "mau": 100_000,
        "days": 30.4,
        "daily_active": 1.0,  # share of MAU active on a given day
        "active_hours": 8,  # hours a day an active user's client is open and calling the API
        "logins_per_week": 1,  # a refresh token lives 14 days idle: one login a week
        "requests_per_hour": 60,  # protected API calls per active user-hour (one a minute)
        "mails_per_mau": 0.05,  # account mails a month per MAU: resets, verifications, notices
    },
    # A typical consumer app: a fifth of monthly users active on a given day,
    # one hour each.
    "typical": {
        "label": "typical: a fifth of MAU active on a day, 1 h each",
        "mau": 100_000,
        "days": 30.4,
        "daily_active": 0.2,
        "active_hours": 1,
        "logins_per_week": 0.25,  # active every ~5 days, inside the 14-day idle lifetime: a login a month (a new device)
        "requests_per_hour": 60,
        "mails_per_mau": 0.05,
    },
}

# -------------------------------------------------------------- deployments
# What a deployer chooses. "recommended" is the template's defaults.
BASE = {
    "api": "rest",  # Rotor's own routes: REST API (the template) or an HTTP API
    "authorizer": "lambda",  # the protected API's authorizer: Rotor's Lambda, or API Gateway's JWT authorizer (HTTP API)
    "access_ttl_s": 3600,  # AccessTokenTTL
    "authorizer_cache_s": 300,  # AuthorizerCacheTTL (API Gateway's authorizer result cache)
    "strict_sessions": True,  # StrictSessions: the authorizer reads the session
    "logs": "json-warn",  # LoggingConfig: JSON, SystemLogLevel WARN (no START/END/REPORT lines)
    "access_logs": True,  # EnableAccessLogs: one JSON line per request of Rotor's API
    "watermark_cached": True,  # C1 (issue 23): refresh = one UpdateItem; the watermark cached in warm containers
    "memory": None,  # None: the template's MemorySize per function
    "key_cache_s": 300,  # KeyCacheTTL
    "alg": "ES256",
    "dpop": False,  # Dpop optional/required with every client binding: see dpop_invocations, dpop_per_flow
}


def deployment(**kw):
    d = dict(BASE)
    d.update(kw)
    return d


DEPLOYMENTS = [
    ("recommended", "**Recommended** (the template's defaults): REST API, Lambda authorizer with strict sessions, "
     "60-min access tokens, authorizer cache 300 s, JSON logs without platform lines",
     deployment()),
    ("before", "The template's defaults before issue 23: 15-min tokens, cache 60 s, plain-text logs with "
     "START/END/REPORT, no strict sessions, refresh = UpdateItem + watermark read",
     deployment(access_ttl_s=900, authorizer_cache_s=60, strict_sessions=False, logs="text", watermark_cached=False,
                memory={"authorizer": 256, "refresh": 256, "login": 1024, "logout": 256})),
    ("not-strict", "Recommended without strict sessions (logout reaches protected routes at the token's exp: up to 60 min)",
     deployment(strict_sessions=False)),
    ("strict-15", "Recommended with 15-min access tokens (more refreshes; revocation bound unchanged: 300 s)",
     deployment(access_ttl_s=900, authorizer_cache_s=90)),
    ("cache-60", "Recommended with the authorizer cache at 60 s (revocation and exp honoured within 60 s)",
     deployment(authorizer_cache_s=60)),
    ("http-api", "Recommended, Rotor's own routes on an HTTP API (gives up WAF, gateway responses, REST TOKEN-authorizer 401s)",
     deployment(api="http")),
    ("jwt", "JWT authorizer: the protected API on an HTTP API with API Gateway's JWT authorizer, RS256, 60-min tokens, "
     "no strict sessions (no authorizer Lambda at all)",
     deployment(authorizer="jwt", strict_sessions=False, alg="RS256")),
    ("jwt-15", "JWT authorizer as above with 15-min tokens (revocation at exp within 15 min, as before issue 23)",
     deployment(authorizer="jwt", strict_sessions=False, access_ttl_s=900, alg="RS256")),
    ("text-logs", "Recommended with plain-text logs (START/END/REPORT for every invocation)",
     deployment(logs="text")),
    ("dpop", "Recommended with `Dpop=optional`, every client binding its tokens (DPoP, issue 24): no gateway cache, "
     "so every protected call invokes the authorizer, which checks the proof and spends it with one conditional PutItem",
     deployment(dpop=True)),
]

# --------------------------------------------------------------- measured
# From BENCHMARKS.md (2 vCPU, Go 1.26; the 2026-12-07 micro-benchmark run,
# `make coldstart` of 2026-11-30). CPU milliseconds of one invocation's own
# work, on one full core of the benchmark machine (amd64; Graviton differs).
MEASURED = {
    "source": "BENCHMARKS.md (authorizer: BenchmarkAlg cpu-ns/op of the 2026-12-07 run; login and refresh: the quiet 2026-11-29 run, the 2026-12-07 one ran under load; init: make coldstart of 2026-11-30)",
    "cpu_ms": {
        # BenchmarkAlg/<alg>/decision cpu-ns/op (TOKEN event JSON -> policy JSON), 2026-12-07
        "authorizer": {"ES256": 0.0604, "EdDSA": 0.0464, "RS256": 0.0366},
        "login": 22.96 + 0.042,  # password.BenchmarkVerify (argon2id) + token.BenchmarkIssueES256
        "refresh": 0.042 + 0.002,  # token.BenchmarkIssueES256 + sessions.BenchmarkRotate
        "logout": 0.01,
    },
    # First invocation under the Lambda runtime emulator less the key fetch
    # (make coldstart): process start, Go init, config and SDK set-up.
    "init_ms": {"authorizer": 6.2, "login": 8.5, "refresh": 6.9, "logout": 7.1},
    # CloudWatch Logs bytes per warm invocation, measured on the real
    # binaries under the Lambda runtime emulator (`bash scripts/lambda-test.sh`,
    # test/lambda TestLogBytesPerInvocation, 2026-12-07): the function's own
    # lines (an allowed authorization and a refresh write none; refusals and
    # security events scale with attacks, not users; pkg/admin
    # TestLogLinesPerFlow holds the same counts) ...
    "app_log_bytes": {"authorizer": 0, "login": 215, "refresh": 0, "logout": 153},
    # DPoP at the edge (issue 24): pkg/authorizer BenchmarkDPoPRequestProof
    # cpu-ns/op, 2026-12-07 (one run, under load; BENCHMARKS.md): a REST
    # REQUEST event with a bound ES256 token and its ES256 proof, the token
    # not in the warm cache (the upper bound; with it cached, 0.137 ms).
    "dpop_authorizer_cpu_ms": 0.214,
    # ... and the platform lines the plain-text format adds to every
    # invocation (START, END, REPORT: 262-264 B in the same run).
    "platform_log_bytes": 263,
    # One API Gateway access log line (template.yaml AccessLogSetting Format,
    # filled with a typical request): 430 B.
    "access_log_bytes": 430,
}

# Round trips are not CPU: Lambda bills the wall clock while a function waits.
ASSUMED = {
    "dynamodb_ms": 5.0,  # one DynamoDB request in-region (single-digit ms)
    "secrets_ms": 25.0,  # one GetSecretValue in-region
    "lambda_overhead_ms": 1.0,  # runtime API round trip and JSON per invocation
    "peak_factor": 3,  # busiest hour's traffic / the average hour's
    "container_life_s": 3600,  # how long Lambda keeps an execution environment before replacing it
    "session_bytes": None,  # set from flowcost: the largest session item
    "user_bytes": None,  # set from flowcost: the largest user item
    "sessions_per_user": 2,  # live sessions per user (devices)
    "log_retention_months": 3,  # LogRetentionDays = 90
    "mail_flow_requests": 2,  # a reset: forgot + reset (a verification: signup's mail + verify)
    "mail_flow_wru": 8,  # IssueToken (a transaction: token + outbox message) + UseToken, transactional writes bill twice
}

# ------------------------------------------------------- account features
# MFA (TOTP, issue 21) and passkeys (issue 22): who uses them, and what each
# of their flows costs. DynamoDB units and round trips are counted by
# bench/flowcost on moto (the flows named below); CPU per call is this
# process's CPU in the pkg/auth benchmarks on moto (BENCHMARKS.md "MFA: the
# second step" and "Passkey ceremonies", 2026-12-07), which includes the AWS
# SDK's signing and JSON that the micro-benchmarks of login and refresh above
# leave out: conservative beside them.
ACCOUNTS = {
    # Share of MAU with a TOTP factor. Opt-in second factors stay a small
    # minority of consumer accounts (Twitter's account-security transparency
    # report, transparency.twitter.com/en/reports/account-security.html:
    # 2.3 % of active accounts had any 2FA method in the second half of
    # 2020): 10 % is a generous share for an opt-in factor, so the model errs
    # high.
    "mfa_share": 0.10,
    # Share of logins made with a passkey instead of a password (a passkey
    # login replaces a password login: no argon2id). Passkeys are new and
    # opt-in here too; 15 % leans high for the same reason.
    "passkey_login_share": 0.15,
    # New accounts a month as a share of MAU: each signs up once, and enrols
    # a TOTP factor or registers a passkey in the shares above.
    "new_user_share": 0.05,
}
# flowcost flow -> (function, CPU ms per call, the benchmark it comes from)
ACCOUNT_FLOWS = {
    "signup": ("signup", 22.96, "password.BenchmarkHash ~ BenchmarkVerify (argon2id)"),
    "login_mfa_required": ("login", 29.36, "BenchmarkLoginMFARequired"),
    "mfa_verify_totp": ("mfa", 7.56, "BenchmarkVerifyMFA"),
    "totp_enrol": ("mfa", 5.44, "BenchmarkEnrolTOTP"),
    "passkey_register_options": ("passkeys", 2.91, "BenchmarkPasskeyRegisterOptions"),
    "passkey_register": ("passkeys", 3.45, "BenchmarkPasskeyRegister"),
    "passkey_login_options": ("passkeys", 0.59, "BenchmarkPasskeyLoginOptions"),
    "passkey_login": ("passkeys", 3.84, "BenchmarkPasskeyLogin"),
}

# ------------------------------------------------------------------ prices
# us-east-1 list prices, read on 2026-12-07 through the project's search
# tool; COST.md cites each page. Tiers beyond the first are noted where the
# workload reaches them.
PRICES = {
    "read": "2026-12-07",
    "lambda_gb_s_arm": 0.0000133334,  # AWS Lambda pricing, Arm, first 7.5 billion GB-s a month
    "lambda_request": 0.20 / 1e6,  # AWS Lambda pricing, per request
    "ddb_wru": 0.625 / 1e6,  # DynamoDB on-demand, per WRU, since the 50 % cut of 2024-11-01
    "ddb_rru": 0.125 / 1e6,  # DynamoDB on-demand, per RRU
    "ddb_gb_month": 0.25,  # DynamoDB Standard table class storage (first 25 GB free, not counted)
    "secret_month": 0.40,  # AWS Secrets Manager, per secret
    "secrets_call": 0.05 / 10_000,  # per 10,000 API calls
    "rest_tiers": [(333e6, 3.50 / 1e6), (667e6, 2.80 / 1e6), (19e9, 2.38 / 1e6), (math.inf, 1.51 / 1e6)],  # API Gateway REST
    "http_tiers": [(300e6, 1.00 / 1e6), (math.inf, 0.90 / 1e6)],  # API Gateway HTTP API
    "logs_gb": 0.50,  # CloudWatch Logs ingestion (standard)
    "logs_gb_month": 0.03,  # CloudWatch Logs storage
    "ses_mail": 0.16 / 1000,  # Amazon SES Essentials plan (the default for new accounts since 2026-07-21), first 10M a month
}


def tiered(n, tiers):
    """The price of n requests on a tiered price list."""
    total, left = 0.0, n
    for size, price in tiers:
        step = min(left, size)
        total += step * price
        left -= step
        if left <= 0:
            break
    return total


# Hosted services, for the same MAU: list prices (COST.md cites the pages).
def cognito_lite(mau):  # 10k MAU free, then $0.0055 to 100k, $0.0046 from 100k to 1M
    return max(0, min(mau, 100_000) - 10_000) * 0.0055 + max(0, min(mau, 1_000_000) - 100_000) * 0.0046


def cognito_essentials(mau):  # 10k MAU free, then $0.015
    return max(0, mau - 10_000) * 0.015


def cognito_plus(mau):  # no free tier, $0.020
    return mau * 0.020


def auth0(mau):  # Free up to 25,000 MAU; above, B2C Essentials from $35/month at 500 MAU, extrapolated linearly
    return 0.0 if mau <= 25_000 else 35 * math.ceil(mau / 500)


def supabase_pro(mau):  # Pro: $25/month includes 100k MAU, then $0.00325/MAU
    return 25 + max(0, mau - 100_000) * 0.00325


HOSTED = [
    ("Amazon Cognito Lite", cognito_lite, "10,000 MAU free, then $0.0055/MAU to 100,000, $0.0046/MAU to 1M"),
    ("Amazon Cognito Essentials", cognito_essentials, "10,000 MAU free, then $0.015/MAU"),
    ("Amazon Cognito Plus", cognito_plus, "$0.020/MAU, no free tier"),
    ("Auth0 (Free, then B2C Essentials)", auth0, "Free plan to 25,000 MAU (fewer features); above, B2C Essentials from $35/month at 500 MAU, extrapolated linearly (≈ $0.07/MAU: not a published price)"),
    ("Supabase Auth (Pro plan)", supabase_pro, "$25/month with 100,000 MAU included, then $0.00325/MAU; a user who only refreshes counts"),
]


# ------------------------------------------------------------------ inputs
def memory_sizes():
    """MemorySize per function from template.yaml (Globals for the rest)."""
    text = open(os.path.join(ROOT, "template.yaml")).read()
    default = int(re.search(r"^Globals:.*?^\s{4}MemorySize: (\d+)", text, re.S | re.M).group(1))
    sizes = {}
    for m in re.finditer(r"^  (\w+)Function:\n(.*?)(?=^  \w+:\n|\Z)", text, re.S | re.M):
        mem = re.search(r"^\s+MemorySize: (\d+)", m.group(2), re.M)
        sizes[m.group(1).lower()] = int(mem.group(1)) if mem else default
    return sizes


def secret_count():
    """Secrets the template creates (each billed monthly)."""
    return open(os.path.join(ROOT, "template.yaml")).read().count("Type: AWS::SecretsManager::Secret\n")


def flows(path):
    if path:
        data = json.load(open(path))
    else:
        out = subprocess.run(["go", "run", "./bench/flowcost"], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        if out.returncode != 0:
            sys.exit("cost: go run ./bench/flowcost failed (its error is above)")
        data = json.loads(out.stdout)
    return {f["name"]: f for f in data["flows"]}


# ------------------------------------------------------------------- model
FUNCTIONS = ("authorizer", "login", "refresh", "logout")


def flow_calls(fl, name, d):
    """The DynamoDB calls of a flow under deployment d. flowcost measures
    the refresh as it is now (C1, issue 23): the conditional UpdateItem
    alone, the watermark cached in warm containers; the strict authorizer
    reads the session alone. Without the cache (the "before" deployment),
    each also read the watermark item strongly consistently: the refresh in
    a second round trip with the owner's item (a BatchGetItem, 2 RRU, as
    flowcost measured it then), the authorizer in the same BatchGetItem as
    the session (1 RRU more)."""
    calls = list(fl[name]["calls"])
    if not d["watermark_cached"] and name in ("refresh", "authorizer_strict"):
        refresh = name == "refresh"
        calls.append({"trip": max(c["trip"] for c in calls) + refresh, "op": "BatchGetItem", "table": "rotor-sessions",
                      "consistent": True, "item_bytes": [0], "rru": 1 + refresh, "wru": 0})
    return calls


def per_flow(fl, mem, d):
    """Per invocation of each function: billed ms, GB-s, RRU, WRU."""
    out = {}
    strict = d["strict_sessions"] and d["authorizer"] == "lambda"
    names = {"login": "login", "refresh": "refresh", "logout": "logout", "authorizer": "authorizer_strict" if strict else None}
    for fn in FUNCTIONS:
        calls = flow_calls(fl, names[fn], d) if names[fn] else []
        trips = len({c["trip"] for c in calls})
        rru, wru = sum(c["rru"] for c in calls), sum(c["wru"] for c in calls)
        mb = mem[fn]
        cpu_share = min(1.0, mb / 1769)  # Lambda: 1,769 MB is one full vCPU
        cpu = MEASURED["cpu_ms"][fn]
        if fn == "authorizer":
            cpu = cpu[d["alg"]]
        ms = cpu / cpu_share + trips * ASSUMED["dynamodb_ms"] + ASSUMED["lambda_overhead_ms"]
        billed = math.ceil(ms)  # billed per 1 ms
        # Init is CPU-bound too; the authorizer also reads its keys during init.
        init = math.ceil(MEASURED["init_ms"][fn] / cpu_share + ASSUMED["secrets_ms"] * (fn == "authorizer"))
        log = MEASURED["app_log_bytes"][fn] + (MEASURED["platform_log_bytes"] if d["logs"] == "text" else 0)
        out[fn] = {"mb": mb, "ms": ms, "billed_ms": billed, "init_ms": init, "rru": rru, "wru": wru, "ddb_calls": trips, "log_bytes": log}
    return out


def dpop_invocations(inv, d):
    """DPoP (issue 24): API Gateway caches nothing for a REQUEST authorizer
    with ReauthorizeEvery 0, so every protected call invokes the authorizer."""
    if d.get("dpop") and d["authorizer"] == "lambda":
        inv = dict(inv, authorizer=inv["protected"])
    return inv


def dpop_per_flow(pf, fl, d):
    """DPoP (issue 24): each authorizer invocation checks a proof (the CPU of
    BenchmarkDPoPRequestProof) and spends its jti with one conditional PutItem
    of a small item (1 WRU, one more round trip). Upper bound: the token is
    taken as never in the warm cache, so strict sessions read the session on
    every invocation."""
    if not (d.get("dpop") and d["authorizer"] == "lambda"):
        return pf
    a = dict(pf["authorizer"])
    cpu_share = min(1.0, a["mb"] / 1769)
    trips = a["ddb_calls"] + 1
    a["ms"] = MEASURED["dpop_authorizer_cpu_ms"] / cpu_share + trips * ASSUMED["dynamodb_ms"] + ASSUMED["lambda_overhead_ms"]
    a["billed_ms"] = math.ceil(a["ms"])
    a["wru"] += 1
    a["ddb_calls"] = trips
    return dict(pf, authorizer=a)


def invocations(w, d):
    """Monthly invocations per function for workload w under deployment d."""
    user_days = w["mau"] * w["days"] * w["daily_active"]
    user_hours = user_days * w["active_hours"]
    logins = w["mau"] * w["logins_per_week"] * 52 / 12
    # An active day starts with a refresh (the last token expired overnight)
    # and refreshes each time the access token runs out; a login replaces one.
    per_day = math.ceil(w["active_hours"] * 3600 / d["access_ttl_s"])
    refreshes = max(0.0, user_days * per_day - logins)
    req = user_hours * w["requests_per_hour"]
    if d["authorizer"] == "jwt":
        authz = 0.0  # API Gateway checks the JWT itself
    elif d["authorizer_cache_s"] > 0:
        # API Gateway caches the decision per token for the cache TTL: each
        # token costs ceil(lifetime / TTL) authorizer calls while requests
        # come at least that often, else one per request.
        per_hour = 3600 / d["access_ttl_s"] * math.ceil(d["access_ttl_s"] / d["authorizer_cache_s"])
        authz = min(req, user_hours * per_hour)
    else:
        authz = req
    # A share of logins is made with a passkey (its own function and flow);
    # the rest are password logins, of which the TOTP users' have a second
    # step. Account flows: see account_flows.
    pk = ACCOUNTS["passkey_login_share"]
    new = w["mau"] * ACCOUNTS["new_user_share"]
    account = {
        "signup": new,
        "totp_enrol": new * ACCOUNTS["mfa_share"],
        "passkey_register_options": new * pk,
        "passkey_register": new * pk,
        "passkey_login_options": logins * pk,
        "passkey_login": logins * pk,
        "mfa_verify_totp": logins * (1 - pk) * ACCOUNTS["mfa_share"],
    }
    return {"authorizer": authz, "login": logins * (1 - pk), "logins": logins, "refresh": refreshes, "logout": logins * 0.1,
            "protected": req, "mails": w["mau"] * w["mails_per_mau"], "account": account}


def account_flows(fl, mem, inv):
    """The account features' monthly Lambda requests, GB-s, RRU, WRU, API
    requests and log bytes: each flow of ACCOUNT_FLOWS at its count in
    inv["account"], plus, for a TOTP user's password login, what its first
    step (login_mfa_required: the mfa_token record) costs beyond a plain
    login's DynamoDB units. Cold starts of these functions are not counted
    (their traffic is a few per cent of the login function's)."""
    out = {"requests": 0.0, "gbs": 0.0, "rru": 0.0, "wru": 0.0, "log_bytes": 0.0, "by_flow": {}}
    for name, n in inv["account"].items():
        fn, cpu, _ = ACCOUNT_FLOWS[name]
        f = fl[name]
        trips = len({c["trip"] for c in f["calls"]})
        mb = mem[fn]
        billed = math.ceil(cpu / min(1.0, mb / 1769) + trips * ASSUMED["dynamodb_ms"] + ASSUMED["lambda_overhead_ms"])
        # A flow that ends in a session logs what a login logs; the others
        # write a security event of the same size.
        log = MEASURED["app_log_bytes"]["login"]
        row = {"n": n, "mb": mb, "billed_ms": billed, "trips": trips, "rru": f["rru"], "wru": f["wru"],
               "gbs": n * billed / 1000 * mb / 1024}
        out["by_flow"][name] = row
        out["requests"] += n
        out["gbs"] += row["gbs"]
        out["rru"] += n * f["rru"]
        out["wru"] += n * f["wru"]
        out["log_bytes"] += n * log
    mfa_logins = inv["account"]["mfa_verify_totp"]
    out["rru"] += mfa_logins * max(0.0, fl["login_mfa_required"]["rru"] - fl["login"]["rru"])
    out["wru"] += mfa_logins * max(0.0, fl["login_mfa_required"]["wru"] - fl["login"]["wru"])
    return out


def monthly(w, d, model):
    fl, tmem = model
    mem = dict(tmem, **(d["memory"] or {}))
    pf = dpop_per_flow(per_flow(fl, mem, d), fl, d)
    inv = dpop_invocations(invocations(w, d), d)
    month_s = w["days"] * 24 * 3600
    rows = {}
    lam_req = lam_gbs = rru = wru = log_bytes = sm_calls = 0.0
    for fn in FUNCTIONS:
        n, p = inv[fn], pf[fn]
        if n == 0:
            rows[fn] = {"n": 0, "gbs": 0, "containers": 0, "cold": 0}
            continue
        # Warm containers: the peak concurrency (requests per second at the
        # peak x seconds each), at least one; each is replaced (a cold start)
        # once per container lifetime.
        peak_rps = n / month_s * ASSUMED["peak_factor"]
        containers = max(1, math.ceil(peak_rps * p["billed_ms"] / 1000))
        cold = min(n, containers * month_s / ASSUMED["container_life_s"])
        gbs = (n * p["billed_ms"] + cold * p["init_ms"]) / 1000 * p["mb"] / 1024
        lam_req += n
        lam_gbs += gbs
        rru += n * p["rru"]
        wru += n * p["wru"]
        log_bytes += n * p["log_bytes"]
        if fn != "logout":  # logout needs no keys
            # Secrets Manager: a read per cold start, then one per container
            # every key cache period (only while it has traffic: n bounds it).
            sm_calls += cold + min(n, containers * month_s / d["key_cache_s"])
        rows[fn] = {"n": n, "gbs": gbs, "containers": containers, "cold": cold}
    # Account mail (reset, verification): the flow's requests and writes, the message.
    mails = inv["mails"]
    mail_requests = mails * ASSUMED["mail_flow_requests"]
    lam_req += mail_requests
    wru += mails * ASSUMED["mail_flow_wru"]
    acc = account_flows(fl, mem, inv)
    lam_req += acc["requests"]
    lam_gbs += acc["gbs"]
    rru += acc["rru"]
    wru += acc["wru"]
    log_bytes += acc["log_bytes"]
    auth_requests = inv["login"] + inv["refresh"] + inv["logout"] + mail_requests + acc["requests"]
    if d["access_logs"]:
        log_bytes += auth_requests * MEASURED["access_log_bytes"]
    storage_gb = w["mau"] * (ASSUMED["user_bytes"] + ASSUMED["sessions_per_user"] * ASSUMED["session_bytes"]) / 1e9
    tiers = PRICES["rest_tiers"] if d["api"] == "rest" else PRICES["http_tiers"]
    log_gb = log_bytes / 1e9
    cost = {
        "Lambda requests": lam_req * PRICES["lambda_request"],
        "Lambda duration (arm64)": lam_gbs * PRICES["lambda_gb_s_arm"],
        "DynamoDB writes": wru * PRICES["ddb_wru"],
        "DynamoDB reads": rru * PRICES["ddb_rru"],
        "DynamoDB storage": storage_gb * PRICES["ddb_gb_month"],
        "Secrets Manager": secret_count() * PRICES["secret_month"] + sm_calls * PRICES["secrets_call"],
        "API Gateway (Rotor's routes)": tiered(auth_requests, tiers),
        "CloudWatch Logs": log_gb * PRICES["logs_gb"] + log_gb * ASSUMED["log_retention_months"] * PRICES["logs_gb_month"],
        "SES (account mail)": mails * PRICES["ses_mail"],
    }
    protected_tiers = PRICES["http_tiers"] if d["authorizer"] == "jwt" else PRICES["rest_tiers"]
    return {
        "cost": cost, "total": sum(cost.values()), "inv": inv, "rows": rows, "pf": pf, "sm_calls": sm_calls,
        "rru": rru, "wru": wru, "gbs": lam_gbs, "storage_gb": storage_gb, "log_gb": log_gb,
        "auth_requests": auth_requests, "protected_apigw": tiered(inv["protected"], protected_tiers), "accounts": acc,
    }


# ------------------------------------------------------------------ output
def money(x):
    return f"${x:,.2f}" if x < 100 else f"${x:,.0f}"


def count(x):
    for unit, div in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if x >= div:
            return f"{x / div:,.1f}{unit}"
    return f"{x:,.0f}"


def work(name, **kw):
    w = dict(WORKLOADS[name])
    w.update(kw)
    return w


DEPLOY = {k: d for k, _, d in DEPLOYMENTS}
HOSTED_MARKERS = ("s", "^", "v", "D", "x")


def plot(model, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(19, 6))
    maus = [10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000]
    shown = [k for k, _, _ in DEPLOYMENTS]
    for ax, wname in zip(axes[:2], ("worst", "typical")):
        for k in shown:
            style = "o-" if k == "recommended" else ".--"
            ax.plot(maus, [monthly(work(wname, mau=m), DEPLOY[k], model)["total"] for m in maus], style,
                    label=f"Rotor: {k}", linewidth=2.5 if k == "recommended" else 1.2)
        for (name, f, _), mk in zip(HOSTED, HOSTED_MARKERS):
            ax.plot(maus, [f(m) for m in maus], ":", color="black", marker=mk, markersize=4, linewidth=0.9, label=name + " (list)")
        ax.set_xscale("log")
        ax.set_yscale("symlog", linthresh=10)
        ax.set_ylim(bottom=0)
        ax.set_xlabel("monthly active users")
        ax.set_ylabel("USD per month")
        ax.set_title(WORKLOADS[wname]["label"], fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=6, ncol=2)

    ttls = [5, 10, 15, 30, 60, 120]
    ax = axes[2]
    for k in shown:
        d = DEPLOY[k]
        ys = []
        for t in ttls:
            dd = dict(d, access_ttl_s=t * 60)
            if dd["authorizer"] == "lambda" and dd["authorizer_cache_s"] * 10 > t * 60:
                dd["authorizer_cache_s"] = t * 6  # the cache stays at most a tenth of the token's life
            ys.append(monthly(work("worst"), dd, model)["total"])
        ax.plot(ttls, ys, "o-" if k == "recommended" else ".--", label=f"Rotor: {k}")
    for (name, f, _), mk in zip(HOSTED, HOSTED_MARKERS):  # per MAU: the same at every token lifetime
        ax.plot(ttls, [f(WORKLOADS["worst"]["mau"])] * len(ttls), ":", color="black", marker=mk, markersize=4, linewidth=0.9, label=name + " (list)")
    ax.axhline(250, color="grey", linewidth=0.8)
    ax.text(ttls[0], 260, "$250 goal", fontsize=8, color="grey")
    ax.set_xscale("log")
    ax.set_yscale("symlog", linthresh=10)
    ax.set_ylim(bottom=0)
    ax.set_xticks(ttls, [str(t) for t in ttls])
    ax.set_xlabel("access-token lifetime (minutes; authorizer cache ≤ a tenth of it)")
    ax.set_ylabel("USD per month")
    ax.set_title(f"{WORKLOADS['worst']['mau']:,} MAU, worst case: by access-token lifetime", fontsize=10)
    ax.legend(fontsize=6, ncol=2)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


SOURCES = [
    ("AWS Lambda", "https://aws.amazon.com/lambda/pricing/", "requests $0.20 per 1M; Arm duration $0.0000133334 per GB-s for the first 7.5 billion GB-s a month (the AWS page renders its table client-side; the figures as quoted from it by cloudchipr.com/blog/aws-lambda-pricing)"),
    ("Amazon API Gateway", "https://docs.aws.amazon.com/whitepapers/latest/best-practices-api-gateway-private-apis-integration/cost-optimization.html (Table 4), https://aws.amazon.com/api-gateway/pricing/", "REST: $3.50 per 1M for the first 333M a month, $2.80 for the next 667M, $2.38 to 20B, $1.51 beyond; HTTP API: $1.00 per 1M for the first 300M, $0.90 beyond"),
    ("Amazon DynamoDB", "https://aws.amazon.com/dynamodb/pricing/on-demand/ (the 2024-11-01 cut, as reported by airbyte.com/data-engineering-resources/dynamodb-pricing and jusdb.com)", "on-demand $0.625 per 1M WRU, $0.125 per 1M RRU since 2024-11-01 (half the earlier $1.25 and $0.25); storage $0.25 per GB-month after 25 GB free"),
    ("Amazon CloudWatch", "https://aws.amazon.com/cloudwatch/pricing/ (figures as quoted from it in February 2026 by cloudburn.io/blog/amazon-cloudwatch-pricing)", "Logs ingestion (standard) $0.50 per GB, storage $0.03 per GB-month; 5 GB a month free (not counted)"),
    ("AWS Secrets Manager", "https://aws.amazon.com/secrets-manager/pricing/ (as quoted by hivebook.wiki/wiki/aws-secrets-manager-rotated-secrets-dynamic-db-credentials-kms)", "$0.40 per secret per month, $0.05 per 10,000 API calls"),
    ("Amazon SES", "https://aws.amazon.com/ses/pricing/ and the AWS Price List API for AmazonSES us-east-1 (publication 2026-07-22, as transcribed in api-evangelist/amazon-ses plans/amazon-ses-plans-pricing.yml)", "since 2026-07-21 new accounts start on the Essentials plan: no monthly fee, $0.16 per 1,000 outbound mails up to 10M (used here); established senders keep à la carte, $0.10 per 1,000 recipients"),
    ("Amazon Cognito", "https://aws.amazon.com/cognito/pricing/ (the page's worked examples, its tables render client-side; as transcribed 2026-09-20 in api-evangelist/amazon-cognito plans/amazon-cognito-plans-pricing.yml)", "Lite: 10,000 MAU free, $0.0055/MAU to 100,000, $0.0046/MAU to 1M; Essentials: 10,000 free, $0.015/MAU; Plus: $0.020/MAU, no free tier. A user counts as an MAU for any identity operation in the month, a token refresh included"),
    ("Auth0", "https://auth0.com/pricing (as transcribed in api-evangelist/auth0 plans/auth0-plans-pricing.yml)", "Free: $0 up to 25,000 MAU (no Pro MFA, RBAC or support); B2C Essentials from $35/month at 500 MAU, Professional from $240/month; the price at larger counts comes from the page's slider or a quote, so the $0.07/MAU line is an extrapolation of the first step, not a price"),
    ("Supabase", "https://supabase.com/docs/guides/platform/manage-your-usage/monthly-active-users", "Pro $25/month with 100,000 MAU, then $0.00325/MAU; an MAU is a distinct user who logs in or refreshes their token in the billing cycle"),
]


def dpop_report(runs, model):
    """The DPoP deployment (issue 24), priced beside the recommended one."""
    rec, dp = runs[("recommended", "worst")], runs[("dpop", "worst")]
    typ, dtyp = runs[("recommended", "typical")], runs[("dpop", "typical")]
    a = dp["pf"]["authorizer"]
    out = ["## DPoP at the edge (issue 24)", ""]
    out.append(f"`Dpop=optional` (or `required`) with every client binding its tokens costs **{money(dp['total'])}** a "
               f"month in the worst case ({money(dp['total'] - rec['total'])} more than recommended) and "
               f"**{money(dtyp['total'])}** in the typical one ({money(dtyp['total'] - typ['total'])} more). A proof is "
               "made for one request, so API Gateway's authorizer cache must not answer for it: the template makes the "
               "API's authorizer a REQUEST authorizer with `ReauthorizeEvery: 0`, and every protected call invokes it "
               f"({count(dp['inv']['authorizer'])} invocations instead of {count(rec['inv']['authorizer'])}). Each "
               f"invocation checks the proof ({MEASURED['dpop_authorizer_cpu_ms']} ms of CPU measured, "
               f"{a['billed_ms']} ms billed at {a['mb']} MB with its round trips) and spends its `jti` with one conditional "
               f"PutItem (1 WRU), so every container refuses a replay. The deployment stays off by default; the "
               f"recommended deployment is unchanged at {money(rec['total'])}.")
    out.append("")
    out.append("| item (worst case) | recommended | DPoP |")
    out.append("|---|---:|---:|")
    for k in sorted(dp["cost"], key=lambda k: -dp["cost"][k]):
        out.append(f"| {k} | {money(rec['cost'][k])} | {money(dp['cost'][k])} |")
    out.append(f"| **total** | **{money(rec['total'])}** | **{money(dp['total'])}** |")
    out.append("")
    out.append("The proofs' writes are most of the difference. Upper bound: the model counts a strict session read on "
               "every invocation (the warm cache keeps a token's verification, session check included, for "
               "`AuthorizerCacheTTL` per container, so fewer happen). Not counted: the spent proofs' items until "
               "DynamoDB's TTL removes them (about 100 bytes each, removed within days of their `expires_at`).")
    out.append("")
    return out


def report(model):
    fl, mem = model
    L = []
    add = L.append
    runs = {(k, wn): monthly(WORKLOADS[wn], d, model) for k, _, d in DEPLOYMENTS for wn in WORKLOADS}
    rec, old = runs[("recommended", "worst")], runs[("before", "worst")]
    w = WORKLOADS["worst"]
    mau = w["mau"]
    add("# Rotor — what it costs to run")
    add("")
    add("<!-- Generated by scripts/cost.py (`make cost`); edit the script, not this file. -->")
    add("")
    add(f"For **{mau:,} monthly active users**, each active {w['active_hours']} hours a day on every day of the month "
        f"(the worst case for a service billed per request), one login a week and {w['requests_per_hour']} protected API "
        f"calls per active hour, the **recommended deployment costs {money(rec['total'])} a month** on AWS (us-east-1, "
        f"arm64, on-demand), {money(rec['total'] / mau * 1000)} per thousand users; the template's defaults before issue 23 "
        f"cost {money(old['total'])}. For a typical workload (a fifth of the users active on a given day, one hour each) "
        f"the same deployment costs **{money(runs[('recommended', 'typical')]['total'])}**. The recommended deployment is "
        "the template's defaults: `sam deploy` with no parameter overrides.")
    add("")
    add("![cost by users (worst case and typical) and by access-token lifetime](cost.png)")
    add("")
    add("## Every option, beside the hosted services")
    add("")
    add(f"{mau:,} MAU. Each Rotor row is the whole bill of Rotor's own resources; the protected API's own API Gateway "
        "requests, which any auth choice pays, are in the last column.")
    add("")
    add("| deployment | worst case | typical | what it gives up | your API's own requests (worst) |")
    add("|---|---:|---:|---|---:|")
    gives = {
        "recommended": "an expired token, or one of a removed key, may pass up to 300 s past its end (API Gateway's cache; was 60 s)",
        "before": "logout, revoke-all and password changes reach protected routes only at the token's exp (up to 16 min)",
        "not-strict": "logout, revoke-all and password changes reach protected routes only at the token's exp (up to 65 min)",
        "strict-15": "nothing more than recommended; more refreshes",
        "cache-60": "nothing; it is the bound of today's default at a higher price",
        "http-api": "AWS WAF on Rotor's routes, REST gateway responses (CORS on the gateway's own 4XX/5XX), a TOKEN authorizer's 401 on Rotor's account routes",
        "jwt": "strict sessions (logout and revoke-all reach your API at the token's exp: up to 60 min), ES256 and EdDSA (RS256 only), the token_refused metric; Rotor's account routes keep the Lambda authorizer",
        "jwt-15": "as above, revocation at exp within 15 min; 4× the refreshes",
        "text-logs": "nothing; pays for START/END/REPORT lines",
        "dpop": "nothing; gains tokens a thief cannot use without the client's key (proofs checked at the edge), pays an "
                "authorizer invocation and a DynamoDB write per protected call",
    }
    for k, label, d in DEPLOYMENTS:
        a, b = runs[(k, "worst")], runs[(k, "typical")]
        api = "HTTP API" if d["authorizer"] == "jwt" else "REST"
        add(f"| {label} | **{money(a['total'])}** | {money(b['total'])} | {gives[k]} | {money(a['protected_apigw'])} ({api}) |")
    for name, f, note in HOSTED:
        add(f"| {name} (list price) | **{money(f(mau))}** | {money(f(mau))} | {note} | same as Rotor's |")
    add("")
    add("Hosted services bill per MAU, so the typical workload costs them what the worst case does; Rotor bills per "
        "request, so it costs a fraction there. They include things Rotor does not (hosted UI, social and enterprise "
        "login, support, and with Cognito Plus threat protection), and Rotor includes things they charge extra for or do "
        "not offer (your own data and keys, strict sessions, the revocation bounds above).")
    add("")
    add("## Where the money goes (recommended, worst case)")
    add("")
    add("| item | quantity per month | USD per month | before issue 23 |")
    add("|---|---:|---:|---:|")
    inv = rec["inv"]
    qty = {
        "Lambda requests": f"{count(sum(inv[f] for f in FUNCTIONS) + rec['accounts']['requests'])} invocations",
        "Lambda duration (arm64)": f"{count(rec['gbs'])} GB-s",
        "DynamoDB writes": f"{count(rec['wru'])} WRU",
        "DynamoDB reads": f"{count(rec['rru'])} RRU",
        "DynamoDB storage": f"{rec['storage_gb']:.3f} GB",
        "Secrets Manager": f"{secret_count()} secret(s), {count(rec['sm_calls'])} GetSecretValue",
        "API Gateway (Rotor's routes)": f"{count(rec['auth_requests'])} REST requests",
        "CloudWatch Logs": f"{rec['log_gb']:,.1f} GB (before: {old['log_gb']:,.0f} GB)",
        "SES (account mail)": f"{count(inv['mails'])} messages",
    }
    for k, v in sorted(rec["cost"].items(), key=lambda kv: -kv[1]):
        add(f"| {k} | {qty[k]} | {money(v)} | {money(old['cost'][k])} |")
    add(f"| **total** | | **{money(rec['total'])}** | **{money(old['total'])}** |")
    add("")
    add("Invocations per month: " + ", ".join(f"{fn} {count(inv[fn])}" for fn in ("authorizer", "refresh", "login", "logout")) +
        f"; protected API requests {count(inv['protected'])}: API Gateway answers "
        f"{1 - inv['authorizer'] / inv['protected']:.0%} of them from its authorizer cache (before: "
        f"{1 - old['inv']['authorizer'] / old['inv']['protected']:.0%}).")
    add("")
    add("## The levers, measured")
    add("")
    add("- **Authorizer invocations** are set by API Gateway's cache, not by the authorizer's own warm cache: "
        "each token costs ceil(token lifetime / cache TTL) invocations while its client calls at least that often. At "
        "15-minute tokens and a 60 s cache that is every request (1.5B a month); at 60-minute tokens and 300 s, 12 an hour. "
        "The warm decision cache inside the function saves CPU (a hit is 0.07–0.2× a verification, BENCHMARKS.md) but no "
        f"invocation, and an invocation's request charge ($0.20 per million) is about "
        f"{PRICES['lambda_request'] / (rec['pf']['authorizer']['billed_ms'] / 1000 * rec['pf']['authorizer']['mb'] / 1024 * PRICES['lambda_gb_s_arm']):.0f}× its "
        "duration charge, so the algorithm (ES256, EdDSA or RS256) moves the bill by cents: choose it for the clients, not the bill.")
    add("- **Strict sessions** cost one session read per authorizer invocation "
        f"({money(runs[('recommended', 'worst')]['cost']['DynamoDB reads'])} of reads a month here) and are what lets the "
        "token live 60 minutes while logout, revoke-all and a password change reach every protected route within the "
        "cache TTL (300 s) — sooner than the old default's 16 minutes.")
    add(f"- **Logs**: the old deployment wrote {old['log_gb']:,.0f} GB a month, nearly all Lambda's START/END/REPORT lines "
        f"({MEASURED['platform_log_bytes']} B per invocation). The functions now log in JSON with `SystemLogLevel: WARN`, "
        f"which drops those lines; the code writes nothing for an allowed request or a refresh (`TestLogLinesPerFlow` and, on "
        f"the real binaries, `TestLogBytesPerInvocation` hold it, and measured these sizes), and one line per login ({MEASURED['app_log_bytes']['login']} B) and logout "
        f"({MEASURED['app_log_bytes']['logout']} B). Refusals and security events, which every metric filter counts, are "
        f"unchanged and scale with attacks, not users (`TestMetricFiltersMatchTheLogs` applies the template's log levels). "
        f"API Gateway's access log ({MEASURED['access_log_bytes']} B per request of Rotor's API) is most of what is left.")
    add(f"- **Rotor's own routes**: REST {money(rec['cost']['API Gateway (Rotor' + chr(39) + 's routes)'])} against HTTP API "
        f"{money(runs[('http-api', 'worst')]['cost']['API Gateway (Rotor' + chr(39) + 's routes)'])} a month. REST stays "
        "recommended: AWS WAF (rate rules and managed rule groups in front of login, signup and forgot) attaches to REST "
        "APIs and not to HTTP APIs; REST gateway responses put CORS headers and Rotor's error shape on the answers API "
        "Gateway makes itself; a REST TOKEN authorizer turns a refused token into 401 (the client's cue to refresh) on "
        "Rotor's account routes. Per-route throttles exist on both. The HTTP API row is there for a deployer who fronts "
        "Rotor with CloudFront and WAF there.")
    add("- **The JWT authorizer** (`examples/jwt-authorizer`): no Lambda per call and HTTP API prices for your own API "
        f"({money(runs[('jwt', 'worst')]['protected_apigw'])} instead of {money(rec['protected_apigw'])} for "
        f"{count(inv['protected'])} requests): the cheapest way to protect an API, for APIs that can take RS256 tokens and "
        "do without strict sessions.")
    add("- **Memory** (table below): duration is "
        f"{rec['cost']['Lambda duration (arm64)'] / rec['total']:.0%} of the bill. Halving the authorizer and refresh "
        "functions to 128 MB would save about "
        f"{money(rec['total'] - monthly(WORKLOADS['worst'], dict(DEPLOY['recommended'], memory=dict(mem, authorizer=128, refresh=128)), model)['total'])} "
        "a month and double their cold starts (Go init and TLS set-up are CPU-bound), so they stay at 256 MB; login "
        "stays at 1024 MB: argon2id is CPU-bound, its GB-s are the same at any size above 256 MB and its latency halves "
        "with each doubling.")
    add("- **Secrets Manager**: one read per cold start and one per warm container every KeyCacheTTL (300 s): "
        f"{count(rec['sm_calls'])} reads, {money(rec['cost']['Secrets Manager'])} with the secrets themselves.")
    add("- **Account mail**: a reset or a verification is one message through SES ($0.16 per 1,000 on the plan new accounts get) plus two requests "
        f"and a transaction; at {w['mails_per_mau']} per MAU a month, {money(rec['cost']['SES (account mail)'])} of SES.")
    acc = rec["accounts"]
    saved = dict(ACCOUNTS)
    ACCOUNTS.update(mfa_share=0.0, passkey_login_share=0.0)
    without = monthly(WORKLOADS["worst"], DEPLOY["recommended"], model)["total"]
    ACCOUNTS.update(saved)
    add(f"- **MFA and passkeys** (assumed: {ACCOUNTS['mfa_share']:.0%} of users with a TOTP factor, "
        f"{ACCOUNTS['passkey_login_share']:.0%} of logins with a passkey, {ACCOUNTS['new_user_share']:.0%} of MAU new each "
        f"month; opt-in second factors are rare in consumer services, 2.3 % of active accounts on Twitter in its "
        "account-security transparency report for the second half of 2020, so these shares err high; the reasons are at "
        f"`ACCOUNTS` in scripts/cost.py): {count(acc['requests'])} more requests a month "
        f"(signups, TOTP enrolments and second steps, passkey registrations and logins), "
        f"{money(rec['total'] - without)} of the {money(rec['total'])}. A TOTP second step is "
        f"{acc['by_flow']['mfa_verify_totp']['trips']} DynamoDB requests ({fl['mfa_verify_totp']['rru']:g} RRU, "
        f"{fl['mfa_verify_totp']['wru']:g} WRU: its transactions bill twice); a passkey login is two calls (options, then "
        f"the assertion: {fl['passkey_login_options']['wru'] + fl['passkey_login']['wru']:g} WRU together) and no "
        "argon2id. Every password login, MFA or not, reads the user's factor (one strongly consistent `GetItem`, 1 RRU, "
        "while argon2id runs): counted in the login flow below. Logins are few beside refreshes and authorizer calls, so "
        "even at these generous shares the features cost cents to a few dollars; the shares are parameters.")
    add("")
    L.extend(dpop_report(runs, model))
    add("## Per flow (recommended)")
    add("")
    add("| function | memory | billed ms per call | cold-start init ms | DynamoDB round trips | RRU | WRU | log bytes |")
    add("|---|---:|---:|---:|---:|---:|---:|---:|")
    for fn in FUNCTIONS:
        p = rec["pf"][fn]
        add(f"| {fn} | {p['mb']} MB | {p['billed_ms']} | {p['init_ms']} | {p['ddb_calls']} | {p['rru']:g} | {p['wru']:g} | {p['log_bytes']} |")
    add("")
    add("**Account flows** (recommended, worst case): calls a month at the shares above; CPU per call from the "
        "pkg/auth benchmarks on moto (AWS SDK included).")
    add("")
    add("| flow | function | calls / month | CPU ms (source) | billed ms | DynamoDB requests | RRU | WRU |")
    add("|---|---|---:|---|---:|---:|---:|---:|")
    for name, r in rec["accounts"]["by_flow"].items():
        fn, cpu, src = ACCOUNT_FLOWS[name]
        add(f"| {name} | {fn} ({r['mb']} MB) | {count(r['n'])} | {cpu:g} ({src}) | {r['billed_ms']} | {r['trips']} | {r['rru']:g} | {r['wru']:g} |")
    add("")
    add("**Memory per function** (worst case, recommended otherwise): monthly Lambda duration in USD by memory size.")
    add("")
    sizes = (128, 256, 512, 1024, 1769)
    add("| function | " + " | ".join(f"{s} MB" for s in sizes) + " |")
    add("|---|" + "---:|" * len(sizes))
    for fn in FUNCTIONS:
        cells = []
        for s in sizes:
            r = monthly(WORKLOADS["worst"], dict(DEPLOY["recommended"], memory=dict(mem, **{fn: s})), model)
            cells.append(money(r["rows"][fn]["gbs"] * PRICES["lambda_gb_s_arm"]))
        add(f"| {fn} | " + " | ".join(cells) + " |")
    add("")
    add("DynamoDB request units come from `go run ./bench/flowcost`, which runs the real flows on the DynamoDB store "
        "against moto_server (the service as `apifn.Service` builds it: MFA, passkeys and mail included) and reads back "
        "every item each call touches. The refresh is the `UpdateItem` alone and the strict authorizer reads the "
        "session item alone, the revocation watermark cached in warm containers (C1, issue 23; one strongly consistent "
        "read per container every 5 s, not counted); the \"before\" deployment adds back the watermark read each made "
        "before (`watermark_cached`). Item sizes (DynamoDB's billing rules):")
    add("")
    add("| flow | calls (table: item bytes) | RRU | WRU |")
    add("|---|---|---:|---:|")
    for name, f in fl.items():
        calls = "; ".join(f"{c['op']} {c['table']}: {'/'.join(str(b) for b in c['item_bytes'])} B" for c in f["calls"])
        add(f"| {name} | {calls} | {f['rru']:g} | {f['wru']:g} |")
    add("")
    add(f"Lambda duration = CPU time measured on one core ÷ the function's share of a vCPU (memory ÷ 1,769 MB), "
        f"+ {ASSUMED['dynamodb_ms']:g} ms per DynamoDB round trip + {ASSUMED['lambda_overhead_ms']:g} ms runtime overhead, "
        f"billed per ms. CPU figures: {MEASURED['source']} — authorizer: `BenchmarkAlg/<alg>/decision` (cpu-ns/op); login: "
        "`password.BenchmarkVerify` (argon2id, m=19 MiB, t=2) + `token.BenchmarkIssueES256`; refresh: "
        "`token.BenchmarkIssueES256` + `sessions.BenchmarkRotate`. Cold-start init: `make coldstart`, plus one Secrets "
        f"Manager read ({ASSUMED['secrets_ms']:g} ms assumed) in the authorizer; each warm container assumed replaced every "
        f"{ASSUMED['container_life_s']} s; warm containers = peak concurrency (peak requests per second × billed seconds "
        "each, at least one).")
    add("")
    add("## How it grows")
    add("")
    add("**With users** (recommended deployment; hosted at list price):")
    add("")
    add("| MAU | Rotor, worst case | Rotor, typical | " + " | ".join(n for n, _, _ in HOSTED) + " |")
    add("|---:|---:|---:|" + "---:|" * len(HOSTED))
    for m in (10_000, 50_000, 100_000, 250_000, 500_000, 1_000_000):
        add(f"| {m:,} | {money(monthly(work('worst', mau=m), DEPLOY['recommended'], model)['total'])} | "
            f"{money(monthly(work('typical', mau=m), DEPLOY['recommended'], model)['total'])} | " +
            " | ".join(money(f(m)) for _, f, _ in HOSTED) + " |")
    add("")
    add("Rotor grows with active user-hours, not with MAU as such.")
    add("")
    add(f"**With the access-token lifetime** ({mau:,} MAU, worst case, strict sessions, the authorizer cache at a tenth "
        "of the token's lifetime up to 300 s — the template's rule — which is also the revocation bound):")
    add("")
    add("| access-token lifetime | cache TTL | refreshes / month | authorizer calls / month | Rotor per month |")
    add("|---:|---:|---:|---:|---:|")
    for t in (5, 15, 30, 60, 120):
        c = min(300, t * 6)
        r = monthly(WORKLOADS["worst"], dict(DEPLOY["recommended"], access_ttl_s=t * 60, authorizer_cache_s=c), model)
        add(f"| {t} min | {c} s | {count(r['inv']['refresh'])} | {count(r['inv']['authorizer'])} | {money(r['total'])} |")
    add("")
    add("## Prices and where they were read")
    add("")
    add(f"us-east-1 list prices, read on {PRICES['read']} with the project's search tool (stored copies of the pages "
        "below); check them before relying on them.")
    add("")
    add("| service | page | prices used |")
    add("|---|---|---|")
    for name, url, what in SOURCES:
        add(f"| {name} | {url} | {what} |")
    add("")
    add("## Assumptions to revisit")
    add("")
    for wn, wl in WORKLOADS.items():
        add(f"- workload `{wn}`: " + ", ".join(f"`{k}` = {v}" for k, v in wl.items() if k != "label"))
    for k, v in ASSUMED.items():
        add(f"- assumed `{k}` = {v}")
    for k, v in ACCOUNTS.items():
        add(f"- assumed `{k}` = {v} (account features)")
    add("- Not counted: the free tiers (Lambda's 1M requests and 400,000 GB-s a month, DynamoDB's 25 GB, CloudWatch's "
        "5 GB), data transfer, the rotation function (one call a month), the account features' cold starts, JWKS fetches (cacheable), refusals and "
        "security events (they scale with attacks), and your API's own requests (the last column above).")
    add("")
    add("Regenerate: `make cost` (creates `.venv/cost` with matplotlib from PyPI, starts its own moto_server).")
    return "\n".join(L) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--flows", help="flowcost JSON (default: run go run ./bench/flowcost)")
    ap.add_argument("--out", default=os.path.join(ROOT, "docs"))
    args = ap.parse_args()
    fl = flows(args.flows)
    mem = memory_sizes()
    # Storage uses the largest session and user items the flows produced.
    sizes = [(c["table"], b) for f in fl.values() for c in f["calls"] for b in c["item_bytes"]]
    ASSUMED["session_bytes"] = max(b for t, b in sizes if t == "rotor-sessions")
    ASSUMED["user_bytes"] = max(b for t, b in sizes if t == "rotor-users")
    model = (fl, mem)
    plot(model, os.path.join(args.out, "cost.png"))
    with open(os.path.join(args.out, "COST.md"), "w") as f:
        f.write(report(model))
    print(f"cost: recommended {money(monthly(WORKLOADS['worst'], DEPLOY['recommended'], model)['total'])}/month for "
          f"{WORKLOADS['worst']['mau']:,} MAU (worst case), "
          f"{money(monthly(WORKLOADS['typical'], DEPLOY['recommended'], model)['total'])} typical; "
          f"wrote {args.out}/COST.md and cost.png", file=sys.stderr)
    for k, label, d in DEPLOYMENTS:
        print(f"  {k:12s} worst {money(monthly(WORKLOADS['worst'], d, model)['total']):>8s}  typical "
              f"{money(monthly(WORKLOADS['typical'], d, model)['total']):>8s}", file=sys.stderr)
    for name, f, _ in HOSTED:
        print(f"  {name:34s} {money(f(WORKLOADS['worst']['mau'])):>8s}", file=sys.stderr)


if __name__ == "__main__":
    main()
