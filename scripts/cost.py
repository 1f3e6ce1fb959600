#!/usr/bin/env python3
"""cost.py: Rotor's monthly AWS cost for a stated workload, beside the list
prices of hosted auth services, and how it grows. Writes docs/COST.md and
docs/cost.png (`make cost`, which runs it in .venv/cost with matplotlib).

Inputs, each named in COST.md:
  * DynamoDB request units per flow: measured now by `go run ./bench/flowcost`
    (the real flows on the DynamoDB store against moto_server, item sizes
    read back);
  * memory size per function: parsed from template.yaml;
  * CPU time per flow and cold-start init: MEASURED below, from BENCHMARKS.md;
  * prices: PRICES below (us-east-1, list prices, with their source pages);
  * the workload: WORKLOAD below.

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

# ----------------------------------------------------------------- workload
WORKLOAD = {
    "mau": 100_000,  # monthly active users
    "active_days": 30.4,  # each MAU is active every day of the month
    "active_hours": 8,  # hours a day a user's client is open and calling the API
    "access_ttl_s": 15 * 60,  # access-token lifetime (ROTOR_ACCESS_TOKEN_TTL)
    "logins_per_week": 1,  # a refresh token lives 14 days idle: one login a week
    "requests_per_hour": 60,  # protected API calls per active user-hour (one a minute)
    "authorizer_cache_s": 60,  # API Gateway's authorizer cache TTL (AuthorizerCacheTTL, the template's default)
    "strict_sessions": False,  # ROTOR_STRICT_SESSIONS: one session read per authorizer call
    "key_cache_s": 300,  # ROTOR_KEY_CACHE_TTL: Secrets Manager read per warm container
}

# --------------------------------------------------------------- measured
# From BENCHMARKS.md (2 vCPU Xeon, Go 1.26; `make bench`, `make coldstart`).
# CPU milliseconds of one invocation's own work, on one full core.
MEASURED = {
    "source": "BENCHMARKS.md (CPU: the 2026-11-30 authorizer comparison, the 2026-11-29 micro-benchmarks; init: make coldstart of 2026-11-30)",
    "cpu_ms": {
        "authorizer": 0.0988,  # BenchmarkRotorTokenEvent, cpu-ns/op (TOKEN event JSON -> policy JSON)
        "login": 23.0 + 0.042,  # password.BenchmarkVerify (argon2id) + token.BenchmarkIssueES256
        "refresh": 0.042 + 0.002,  # token.BenchmarkIssueES256 + sessions.BenchmarkRotate
        "logout": 0.01,
    },
    # First invocation under the Lambda runtime emulator less the key fetch:
    # process start, Go init, config and SDK set-up, the request (make coldstart).
    "init_ms": {"authorizer": 6.2, "login": 8.5, "refresh": 6.9, "logout": 7.1},
}

# Round trips are not CPU: Lambda bills the wall clock while a function waits.
ASSUMED = {
    "dynamodb_ms": 5.0,  # one DynamoDB request in-region (single-digit ms)
    "secrets_ms": 25.0,  # one GetSecretValue in-region
    "lambda_overhead_ms": 1.0,  # runtime API round trip and JSON per invocation
    "log_bytes": 350,  # CloudWatch Logs per invocation: START, END, REPORT lines
    "peak_factor": 3,  # busiest hour's traffic / the average hour's
    "container_life_s": 3600,  # how long Lambda keeps an execution environment before replacing it
    "session_bytes": None,  # set from flowcost: the largest session item
    "user_bytes": None,  # set from flowcost: the largest user item
    "sessions_per_user": 2,  # live sessions per user (devices)
}

# ------------------------------------------------------------------ prices
# us-east-1 list prices as of the knowledge of this script's author (2025),
# from each service's public pricing page; check them before relying on them.
PRICES = {
    "as_of": "2025",
    "lambda_gb_s_arm": 0.0000133334,  # AWS Lambda pricing, Arm, first 6 billion GB-s
    "lambda_request": 0.20 / 1e6,  # AWS Lambda pricing, per request
    "ddb_wru": 0.625 / 1e6,  # Amazon DynamoDB pricing for on-demand capacity
    "ddb_rru": 0.125 / 1e6,
    "ddb_gb_month": 0.25,  # DynamoDB Standard table class storage
    "secret_month": 0.40,  # AWS Secrets Manager pricing, per secret
    "secrets_call": 0.05 / 10_000,
    "apigw_rest_request": 3.50 / 1e6,  # Amazon API Gateway pricing, REST, first 333M
    "logs_gb": 0.50,  # Amazon CloudWatch pricing, Logs ingestion (standard)
}

# Hosted services, for the same MAU: list prices, to be checked.
def cognito_lite(mau):  # Amazon Cognito pricing, Lite tier: 10k MAU free, then $0.0055 to 100k, $0.0046 to 1M
    return max(0, min(mau, 100_000) - 10_000) * 0.0055 + max(0, min(mau, 1_000_000) - 100_000) * 0.0046 + max(0, mau - 1_000_000) * 0.00325


def cognito_essentials(mau):  # Amazon Cognito pricing, Essentials tier: 10k MAU free, then $0.015
    return max(0, mau - 10_000) * 0.015


def auth0_essentials(mau):  # Auth0 pricing, B2C Essentials: ~$0.07/MAU self-serve; large MAU counts are quoted
    return mau * 0.07


def supabase_pro(mau):  # Supabase pricing, Pro plan: $25/month includes 100k MAU, then $0.00325/MAU
    return 25 + max(0, mau - 100_000) * 0.00325


HOSTED = [
    ("Amazon Cognito Lite", cognito_lite, "10,000 MAU free, then $0.0055/MAU to 100k, $0.0046/MAU to 1M"),
    ("Amazon Cognito Essentials", cognito_essentials, "10,000 MAU free, then $0.015/MAU"),
    ("Auth0 B2C Essentials", auth0_essentials, "≈ $0.07/MAU extrapolated from the self-serve tiers; above their range Auth0 quotes"),
    ("Supabase Auth (Pro plan)", supabase_pro, "$25/month with 100,000 MAU included, then $0.00325/MAU (the plan also includes a database)"),
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
def per_flow(fl, mem, strict):
    """Per invocation of each function: billed ms, GB-s, RRU, WRU."""
    out = {}
    def trips(name):  # round trips: a batch or a transaction is one
        return len({c["trip"] for c in fl[name]["calls"]})

    ddb_calls = {
        "login": trips("login"),
        "refresh": trips("refresh"),
        "logout": trips("logout"),
        "authorizer": trips("authorizer_strict") if strict else 0,
    }
    units = {
        "login": (fl["login"]["rru"], fl["login"]["wru"]),
        "refresh": (fl["refresh"]["rru"], fl["refresh"]["wru"]),
        "logout": (fl["logout"]["rru"], fl["logout"]["wru"]),
        "authorizer": (fl["authorizer_strict"]["rru"], 0) if strict else (0, 0),
    }
    for fn in ("authorizer", "login", "refresh", "logout"):
        mb = mem[fn]
        cpu_share = min(1.0, mb / 1769)  # Lambda: 1,769 MB is one full vCPU
        ms = MEASURED["cpu_ms"][fn] / cpu_share + ddb_calls[fn] * ASSUMED["dynamodb_ms"] + ASSUMED["lambda_overhead_ms"]
        billed = math.ceil(ms)  # billed per 1 ms
        # Init is CPU-bound too; the authorizer also reads its keys during init.
        init = math.ceil(MEASURED["init_ms"][fn] / cpu_share + ASSUMED["secrets_ms"] * (fn == "authorizer"))
        out[fn] = {"mb": mb, "ms": ms, "billed_ms": billed, "init_ms": init, "rru": units[fn][0], "wru": units[fn][1], "ddb_calls": ddb_calls[fn]}
    return out


def invocations(w):
    """Monthly invocations per function for workload w."""
    user_hours = w["mau"] * w["active_days"] * w["active_hours"]
    logins = w["mau"] * w["logins_per_week"] * 52 / 12
    refreshes = max(0.0, user_hours * 3600 / w["access_ttl_s"] - logins)
    # API Gateway caches the decision per token for the cache TTL, but never
    # past the token: each token costs ceil(lifetime / TTL) authorizer calls
    # while requests come at least that often, else one per request.
    req = user_hours * w["requests_per_hour"]
    if w["authorizer_cache_s"] > 0:
        per_hour = 3600 / w["access_ttl_s"] * math.ceil(w["access_ttl_s"] / w["authorizer_cache_s"])
        authz = min(req, user_hours * per_hour)
    else:
        authz = req
    return {"authorizer": authz, "login": logins, "refresh": refreshes, "logout": logins * 0.1, "protected": req}


def monthly(w, model):
    fl, mem = model
    pf = per_flow(fl, mem, w["strict_sessions"])
    inv = invocations(w)
    month_s = w["active_days"] * 24 * 3600
    rows = {}
    lam_req = lam_gbs = rru = wru = log_bytes = sm_calls = 0.0
    for fn in ("authorizer", "login", "refresh", "logout"):
        n, p = inv[fn], pf[fn]
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
        log_bytes += n * ASSUMED["log_bytes"]
        if fn != "logout":  # logout needs no keys
            # Secrets Manager: a read per cold start, then one per container
            # every key cache period (only while it has traffic: n bounds it).
            sm_calls += cold + min(n, containers * month_s / w["key_cache_s"])
        rows[fn] = {"n": n, "gbs": gbs, "containers": containers, "cold": cold}
    storage_gb = w["mau"] * (ASSUMED["user_bytes"] + ASSUMED["sessions_per_user"] * ASSUMED["session_bytes"]) / 1e9
    auth_requests = inv["login"] + inv["refresh"] + inv["logout"]
    cost = {
        "Lambda requests": lam_req * PRICES["lambda_request"],
        "Lambda duration (arm64)": lam_gbs * PRICES["lambda_gb_s_arm"],
        "DynamoDB writes": wru * PRICES["ddb_wru"],
        "DynamoDB reads": rru * PRICES["ddb_rru"],
        "DynamoDB storage": storage_gb * PRICES["ddb_gb_month"],
        "Secrets Manager": secret_count() * PRICES["secret_month"] + sm_calls * PRICES["secrets_call"],
        "API Gateway (auth routes)": auth_requests * PRICES["apigw_rest_request"],
        "CloudWatch Logs": log_bytes / 1e9 * PRICES["logs_gb"],
    }
    return {
        "cost": cost,
        "total": sum(cost.values()),
        "inv": inv,
        "rows": rows,
        "pf": pf,
        "sm_calls": sm_calls,
        "rru": rru,
        "wru": wru,
        "gbs": lam_gbs,
        "storage_gb": storage_gb,
        "protected_apigw": inv["protected"] * PRICES["apigw_rest_request"],
    }


# ------------------------------------------------------------------ output
def money(x):
    return f"${x:,.2f}" if x < 100 else f"${x:,.0f}"


def count(x):
    for unit, div in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if x >= div:
            return f"{x / div:,.1f}{unit}"
    return f"{x:,.0f}"


def with_(**kw):
    w = dict(WORKLOAD)
    w.update(kw)
    return w


def plot(model, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8))
    maus = [10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000]
    ax = axes[0]
    ax.plot(maus, [monthly(with_(mau=m), model)["total"] for m in maus], "o-", label="Rotor on AWS", linewidth=2.5)
    ax.plot(maus, [monthly(with_(mau=m, strict_sessions=True), model)["total"] for m in maus], "o--", label="Rotor, strict sessions")
    for name, f, _ in HOSTED:
        ax.plot(maus, [f(m) for m in maus], ".-", label=name + " (list)")
    ax.set_xscale("log")
    ax.set_yscale("symlog", linthresh=10)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("monthly active users")
    ax.set_ylabel("USD per month")
    ax.set_title("Cost by users")
    ax.legend(fontsize=7)
    ax.grid(True, which="both", alpha=0.3)

    ttls = [5, 10, 15, 30, 60]
    ax = axes[1]
    for cache in (0, 60, 300, 3600):
        ax.plot(ttls, [monthly(with_(access_ttl_s=t * 60, authorizer_cache_s=cache), model)["total"] for t in ttls], "o-", label=f"authorizer cache {cache} s")
    ax.set_xlabel("access-token lifetime (minutes)")
    ax.set_ylabel("USD per month")
    ax.set_title(f"Rotor, {WORKLOAD['mau']:,} MAU: by token lifetime")
    ax.legend(fontsize=8)
    ax.grid(True, alpha=0.3)

    caches = [0, 60, 120, 300, 600, 900, 1800, 3600]
    ax = axes[2]
    for strict in (False, True):
        ax.plot(caches, [monthly(with_(authorizer_cache_s=c, strict_sessions=strict), model)["total"] for c in caches], "o-", label="strict sessions" if strict else "default")
    ax.set_xlabel("API Gateway authorizer cache TTL (s)")
    ax.set_ylabel("USD per month")
    ax.set_title(f"Rotor, {WORKLOAD['mau']:,} MAU, 15-min tokens: by cache TTL")
    ax.legend(fontsize=8)
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def report(model):
    fl, mem = model
    base = monthly(WORKLOAD, model)
    pf = base["pf"]
    w = WORKLOAD
    L = []
    add = L.append
    add("# Rotor — what it costs to run")
    add("")
    add("<!-- Generated by scripts/cost.py (`make cost`); edit the script, not this file. -->")
    add("")
    add(f"For **{w['mau']:,} monthly active users**, each active {w['active_hours']} hours a day on every day of the month, "
        f"with {w['access_ttl_s'] // 60}-minute access tokens, one login a week, {w['requests_per_hour']} protected API "
        f"calls per active hour and API Gateway's authorizer cache at {w['authorizer_cache_s']} s, Rotor costs about "
        f"**{money(base['total'])} a month** on AWS (us-east-1, arm64, on-demand), "
        f"{money(base['total'] / w['mau'] * 1000)} per thousand users. The same users on hosted services, at list prices:")
    add("")
    add("| service | plan | per month | note |")
    add("|---|---|---:|---|")
    add(f"| **Rotor** (this model) | your AWS account | **{money(base['total'])}** | plus your API's own API Gateway requests, which every option pays ({money(base['protected_apigw'])} for {count(base['inv']['protected'])} REST requests) |")
    for name, f, note in HOSTED:
        add(f"| {name} | list price | {money(f(w['mau']))} | {note} |")
    add("")
    add(f"Hosted prices are **list prices as of {PRICES['as_of']}, from the author's knowledge, to be checked** on "
        "the Amazon Cognito, Auth0 and Supabase pricing pages before any decision; they include things Rotor does not "
        "(hosted UI, social and enterprise login, MFA, support), and Rotor includes things they charge extra for or do not "
        "offer (your own data, your own keys). AWS prices below are us-east-1 list prices as of the same date, "
        "from the AWS Lambda, Amazon DynamoDB, AWS Secrets Manager, Amazon API Gateway and Amazon CloudWatch pricing pages.")
    add("")
    add("![cost by users, token lifetime and authorizer cache TTL](cost.png)")
    add("")
    add("## Where the money goes (the workload above)")
    add("")
    add("| item | quantity per month | USD per month |")
    add("|---|---:|---:|")
    inv = base["inv"]
    qty = {
        "Lambda requests": f"{count(sum(inv[f] for f in ('authorizer', 'login', 'refresh', 'logout')))} invocations",
        "Lambda duration (arm64)": f"{count(base['gbs'])} GB-s",
        "DynamoDB writes": f"{count(base['wru'])} WRU",
        "DynamoDB reads": f"{count(base['rru'])} RRU",
        "DynamoDB storage": f"{base['storage_gb']:.3f} GB",
        "Secrets Manager": f"{secret_count()} secret(s), {count(base['sm_calls'])} GetSecretValue",
        "API Gateway (auth routes)": f"{count(inv['login'] + inv['refresh'] + inv['logout'])} REST requests",
        "CloudWatch Logs": f"{count(sum(inv[f] for f in ('authorizer', 'login', 'refresh', 'logout')) * ASSUMED['log_bytes'] / 1e9)} GB",
    }
    for k, v in sorted(base["cost"].items(), key=lambda kv: -kv[1]):
        add(f"| {k} | {qty[k]} | {money(v)} |")
    add(f"| **total** | | **{money(base['total'])}** |")
    add("")
    add("Invocations per month: " + ", ".join(f"{fn} {count(inv[fn])}" for fn in ("authorizer", "refresh", "login", "logout")) +
        f"; protected API requests {count(inv['protected'])} (API Gateway answers "
        f"{1 - inv['authorizer'] / inv['protected']:.0%} of them from its authorizer cache).")
    add("")
    add("## Per flow (measured)")
    add("")
    add("| function | memory | billed ms per call | cold-start init ms | DynamoDB calls | RRU | WRU |")
    add("|---|---:|---:|---:|---:|---:|---:|")
    for fn in ("authorizer", "login", "refresh", "logout"):
        p = pf[fn]
        add(f"| {fn} | {p['mb']} MB | {p['billed_ms']} | {p['init_ms']} | {p['ddb_calls']} | {p['rru']:g} | {p['wru']:g} |")
    add("")
    add("DynamoDB request units come from `go run ./bench/flowcost`, which runs the real flows on the DynamoDB store "
        "against moto_server and reads back every item each call touches. Item sizes (DynamoDB's billing rules):")
    add("")
    add("| flow | calls (table: item bytes) | RRU | WRU |")
    add("|---|---|---:|---:|")
    for name, f in fl.items():
        calls = "; ".join(f"{c['op']} {c['table']}: {'/'.join(str(b) for b in c['item_bytes'])} B" for c in f["calls"])
        add(f"| {name} | {calls} | {f['rru']:g} | {f['wru']:g} |")
    add("")
    add("A login writes the session and the user's session list in one transaction (transactional writes bill "
        "twice); reads are strongly consistent. Round trips (a batch or a transaction is one) set the billed wait.")
    add("")
    add(f"Lambda duration = CPU time measured on one core ÷ the function's share of a vCPU (memory ÷ 1,769 MB), "
        f"+ {ASSUMED['dynamodb_ms']:g} ms per DynamoDB round trip + {ASSUMED['lambda_overhead_ms']:g} ms runtime overhead, billed per "
        f"ms. CPU figures: {MEASURED['source']} — authorizer: `BenchmarkRotorTokenEvent` (cpu-ns/op); login: "
        "`password.BenchmarkVerify` (argon2id, m=19 MiB, t=2) + `token.BenchmarkIssueES256`; refresh: "
        "`token.BenchmarkIssueES256` + `sessions.BenchmarkRotate`. Cold-start init: `make coldstart` (Go init, config, "
        f"SDK set-up), plus one Secrets Manager read ({ASSUMED['secrets_ms']:g} ms assumed) in the authorizer, which fetches "
        f"its keys during init; each warm container assumed replaced every {ASSUMED['container_life_s']} s.")
    add("")
    add(f"Secrets Manager: one read per cold start of a function that uses keys, then one per warm container every "
        f"{w['key_cache_s']} s (ROTOR_KEY_CACHE_TTL); warm containers = peak concurrency (peak requests per second × "
        "billed seconds each, at least one): " + ", ".join(f"{fn} {base['rows'][fn]['containers']}" for fn in ("authorizer", "login", "refresh")) +
        f" — plus $0.40 a month for each of the template's {secret_count()} secret(s).")
    add("")
    add("## How it grows")
    add("")
    add("**With users** (everything else as above):")
    add("")
    add("| MAU | Rotor | Rotor, strict sessions | " + " | ".join(n for n, _, _ in HOSTED) + " |")
    add("|---:|---:|---:|" + "---:|" * len(HOSTED))
    for m in (10_000, 50_000, 100_000, 250_000, 500_000, 1_000_000):
        add(f"| {m:,} | {money(monthly(with_(mau=m), model)['total'])} | {money(monthly(with_(mau=m, strict_sessions=True), model)['total'])} | " +
            " | ".join(money(f(m)) for _, f, _ in HOSTED) + " |")
    add("")
    add("Rotor grows linearly with active user-hours, not with MAU as such: a user who is active one hour a day costs an eighth of the figure above.")
    add("")
    add(f"**With the access-token lifetime** ({w['mau']:,} MAU): shorter tokens mean more refreshes (a Lambda call and a "
        "session write each) and, with the authorizer cache, more authorizer calls (the cache is per token).")
    add("")
    add("| access-token lifetime | refreshes / month | authorizer calls / month | Rotor per month |")
    add("|---:|---:|---:|---:|")
    for t in (5, 10, 15, 30, 60):
        r = monthly(with_(access_ttl_s=t * 60), model)
        add(f"| {t} min | {count(r['inv']['refresh'])} | {count(r['inv']['authorizer'])} | {money(r['total'])} |")
    add("")
    add(f"**With API Gateway's authorizer cache TTL** ({w['mau']:,} MAU, 15-minute tokens): the cache saves authorizer "
        "calls up to the token's lifetime, no further. With strict sessions every authorizer call is also a session read.")
    add("")
    add("| cache TTL | authorizer calls / month | Rotor per month | Rotor, strict sessions |")
    add("|---:|---:|---:|---:|")
    for c in (0, 60, 300, 900, 3600):
        r = monthly(with_(authorizer_cache_s=c), model)
        s = monthly(with_(authorizer_cache_s=c, strict_sessions=True), model)
        add(f"| {c} s | {count(r['inv']['authorizer'])} | {money(r['total'])} | {money(s['total'])} |")
    add("")
    add("## What would cut it")
    add("")
    add(f"- **Fewer refreshes.** At this workload refreshes are {count(base['inv']['refresh'])} of the "
        f"{count(base['inv']['login'] + base['inv']['refresh'] + base['inv']['logout'])} auth-route requests: API Gateway, "
        "Lambda and DynamoDB costs of the auth routes scale with 1 / access-token lifetime (table below).")
    add(f"- **Platform log lines.** START/END/REPORT lines are most of the {money(base['cost']['CloudWatch Logs'])} of logs; "
        "Lambda's advanced logging controls (system log level WARN) drop them.")
    add("- **Longer access tokens or a longer authorizer cache**, within what revocation needs (tables above).")
    add("")
    add("## Assumptions to revisit")
    add("")
    for k, v in WORKLOAD.items():
        add(f"- workload `{k}` = {v}")
    for k, v in ASSUMED.items():
        add(f"- assumed `{k}` = {v}")
    add("- Not counted: the free tiers (Lambda's 1M requests and 400,000 GB-s a month, DynamoDB's 25 GB), data transfer, "
        "the rotation function (one call a month), signups, password changes, JWKS fetches (cacheable), and your API's own "
        "requests through API Gateway.")
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
    base = monthly(WORKLOAD, model)
    print(f"cost: {money(base['total'])}/month for {WORKLOAD['mau']:,} MAU; wrote {args.out}/COST.md and cost.png", file=sys.stderr)


if __name__ == "__main__":
    main()
