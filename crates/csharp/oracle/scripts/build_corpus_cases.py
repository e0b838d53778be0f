#!/usr/bin/env python3
"""Build cases/corpus-seed.json and cases/corpus-dev.json from extract_corpus.py's output.

Each distinct corpus expression gets the shared `gateway` context plus the variables it reads,
typed the way the expression uses them (a cast, GetValueOrDefault<T>, Convert.ToInt32, ...),
with plausible values by name. Named values {{x}} are replaced by plausible literals.
Usage: scripts/extract_corpus.py | scripts/build_corpus_cases.py
"""
import json, re, sys, hashlib, os

HERE = os.path.dirname(os.path.abspath(__file__))
JWT = json.load(open(os.path.join(HERE, "../contexts/gateway.json")))["request"]["headers"]["Authorization"][7:]

NAMED_VALUES = {
    "BaseUrl": "api.contoso.com/",
    "Endpoint-Base": "https://backend.contoso.com",
    "Feature-Enabled": "true",
    "FeatureEnabled": "True",
    "Instance-Count": "3",
    "Mirror-Traffic-Percentage": "10",
    "user-assigned-identity-object-id": "0a1b2c3d-1111-2222-3333-444455556666",
}

BACKENDS = [
    {"name": "openai-eastus", "priority": 1, "weight": 2, "isThrottling": False, "retryAfter": "0001-01-01T00:00:00"},
    {"name": "openai-westeurope", "priority": 1, "weight": 1, "isThrottling": True, "retryAfter": "2024-05-01T11:59:00Z"},
    {"name": "openai-japaneast", "priority": 2, "weight": 1, "isThrottling": False, "retryAfter": "0001-01-01T00:00:00"},
]
DEPLOYMENTS = [
    {"deployment-id": "embedding", "tpm-limit": 10000, "low-priority-tpm-threshold": 3000, "rp10s-limit": 10, "low-priority-rp10s-threshold": 3},
    {"deployment-id": "gpt-4o", "tpm-limit": 100000, "low-priority-tpm-threshold": 30000, "rp10s-limit": 100, "low-priority-rp10s-threshold": 30},
]

# Plausible values by variable name (converted to the type each expression reads).
VALUES = {
    "Backend-Endpoint": "backend.contoso.com",
    "Headers-To-Remove": ["x-internal-a", "x-internal-b"],
    "Headers-To-Remove-Index": 1,
    "KnownGUID": {"$type": "guid", "value": "0f8fad5b-d9cb-469f-a165-70867728950e"},
    "Properties": {"clientId": "app-client-id", "resource": "https://cognitiveservices.azure.com"},
    "Rate-Limit-Calls": 100,
    "Rate-Limit-Key": "sub-1",
    "Variable": "present",
    "all-backends": [{"id": "payg-backend-1", "weight": 2}, {"id": "payg-backend-2", "weight": 1}],
    "allow-additional-lowpri-request": True,
    "allowedOriginsJson": "[\"https://shop.contoso.com\",\"https://admin.contoso.com\"]",
    "apiId": "api-7",
    "audience": "api://contoso-ai",
    "auth-context": {"$type": "authorization", "value": {"accessToken": "spotify-access-token", "claims": {"scope": "user-read"}}},
    "authz_roles": "role-reader, role-admin",
    "backend-counter": 3,
    "backend-pool": ["payg-backend-1", "payg-backend-2"],
    "backend429Attempt": 2,
    "backendAttempt": 2,
    "backendIndex": 1,
    "backendRetry": "true",
    "backendUrl": "https://openai-eastus.openai.azure.com/openai/deployments/",
    "blobCheckResponse": {"$type": "response", "value": {"statusCode": 200, "statusReason": "OK", "headers": {}, "body": ""}},
    "blobExists": True,
    "blobName": "report.pdf",
    "blobUrl": "https://contosoblobs.blob.core.windows.net/docs/report.pdf",
    "blobUrlWithSasToken": "https://contosoblobs.blob.core.windows.net/docs/report.pdf?sv=2022-11-02&sig=abc",
    "cacheKey": "cors-key_1",
    "cacheValue": "{\"openai\":[\"https://shop.contoso.com\"]}",
    "cached-sas-token": "sv=2022-11-02&sig=cached",
    "cachedRetryEpoch": "1714564815",
    "callerId": "11111111-2222-3333-4444-555555555555",
    "canonicalizedResource": "/blob/contosoblobs/docs/report.pdf",
    "chosen-index": 1,
    "consumed-tokens": 29,
    "containerName": "docs",
    "correlation-id": "corr-0001",
    "corsMappingJson": "{\"openai\":[\"https://shop.contoso.com\"],\"other\":[\"*\"]}",
    "corsOrigin": "https://shop.contoso.com",
    "corsOriginCacheKey": "corsOriginMapping-openai",
    "default-backend-id": "backend-default",
    "delegationKeyResponse": {"$type": "response", "value": {"statusCode": 200, "statusReason": "OK", "headers": {"Content-Type": "application/xml"},
        "body": "<?xml version=\"1.0\" encoding=\"utf-8\"?><UserDelegationKey><SignedOid>oid-1</SignedOid><SignedTid>tid-1</SignedTid><SignedStart>2024-05-01T12:00:00Z</SignedStart><SignedExpiry>2024-05-01T13:00:00Z</SignedExpiry><SignedService>b</SignedService><SignedVersion>2022-11-02</SignedVersion><Value>c2VjcmV0LWtleS1ieXRlcw==</Value></UserDelegationKey>"}},
    "deploymentId": "gpt-4o/chat/completions",
    "endpoint": "https://instances.contoso.com",
    "expiry": "2024-05-01T12:10:00Z",
    "isStream": "True",
    "jwt": {"$type": "jwt", "value": JWT},
    "lessPreferredBackend": "backend-b",
    "list-deployments": DEPLOYMENTS,
    "listBackends": BACKENDS,
    "loadBalancerConfig": json.dumps([{"name": b["name"], "priority": b["priority"], "weight": b["weight"]} for b in BACKENDS]),
    "low-priority": True,
    "low-priority-rp10s-threshold": 30,
    "low-priority-tpm-threshold": 30000,
    "managed-id-access-token": "eyJ0eXAiOiJKV1QifQ.e30.sig",
    "mi-access-token": "mi-token-abc",
    "mostPreferredBackend": "backend-a",
    "permissions": "r",
    "preferred-backend-id": "",
    "preferredBackends": ["backend-a", "backend-b"],
    "preferredBackendsFromCache": ["backend-a", "backend-b"],
    "products": "starter,unlimited",
    "remaining-requests": 9,
    "remaining-tokens": 4500,
    "remainingBackends": 2,
    "requestBody": "{\"messages\":[{\"role\":\"user\",\"content\":\"Hello there\"}]}",
    "requests-reset": 6,
    "retryAfterSeconds": 12,
    "rp10s-limit": 100,
    "sas-response": {"$type": "response", "value": {"statusCode": 200, "statusReason": "OK", "headers": {}, "body": {"accountSasToken": "sv=2022-11-02&ss=b&sig=xyz"}}},
    "sas-token": "sv=2022-11-02&ss=b&sig=xyz",
    "sasExpiry": "2024-05-01T12:10:00Z",
    "sasToken": "sv=2022-11-02&sig=abc",
    "selected-backend-id": "backend-a",
    "selected-deployment": DEPLOYMENTS[1],
    "selected-deployment-id": "gpt-4o",
    "service-token": "service-token-xyz",
    "signedProtocol": "https",
    "signedResource": "b",
    "signedVersion": "2022-11-02",
    "storageAccount": "contosoblobs",
    "streamIncludeUsageAction": "include-usage-injected",
    "test": "test-value",
    "token": "token-abc",
    "tokens-reset": 30,
    "total-backend-count": 2,
    "tpm-limit": 100000,
    "updatedRetryEpoch": "1714564812",
    "urlId": 3,
}

# Expressions APIM refuses to save (C# compile errors); ours must reject them too.
COMPILE_ERRORS = [
    ("RETRY_COUNT", "RETRY_COUNT is a template placeholder, not a C# name (CS0103)"),
    ("'Retry-After'", "multi-character char literal 'Retry-After' (CS1012)"),
    ("'updatedRetryEpoch'", "multi-character char literal (CS1012)"),
]

CASTS = {"string": "string", "int": "int", "Int32": "int", "long": "long", "Int64": "long", "bool": "bool",
         "double": "double", "JArray": "jarray", "JObject": "jobject", "JToken": "jtoken",
         "IResponse": "response", "Jwt": "jwt", "Authorization": "authorization"}


def convert(value, ty):
    """The variable JSON for `value` read as C# type `ty` (None: leave JSON typing)."""
    if isinstance(value, dict) and "$type" in value:
        return value
    if ty is None:
        return value
    if ty == "string":
        return value if isinstance(value, str) else json.dumps(value) if isinstance(value, (list, dict)) else str(value).lower() if isinstance(value, bool) else str(value)
    if ty == "int":
        return int(value) if not isinstance(value, bool) else int(value)
    if ty == "long":
        return {"$type": "long", "value": int(value)}
    if ty == "double":
        return float(value)
    if ty == "bool":
        return bool(value) if not isinstance(value, str) else value.lower() == "true"
    return value


def infer(expr):
    """name -> C# type (or None) for every variable the expression reads."""
    found = {}
    def put(n, t):
        if found.get(n) is None:
            found[n] = t
    for m in re.finditer(r"(?:\(\s*(\w+)\s*\)\s*)?(?:\(\s*)?context\.Variables\s*\[\s*[\"']([^\"']+)[\"']\s*\]", expr):
        put(m.group(2), CASTS.get(m.group(1)))
    for m in re.finditer(r"Convert\.ToInt32\(\s*context\.Variables\s*\[\s*\"([^\"]+)\"", expr):
        found[m.group(1)] = "int"
    for m in re.finditer(r"GetValueOrDefault<\s*([\w\[\]]+)\s*>\(\s*\"([^\"]+)\"", expr):
        found[m.group(2)] = CASTS.get(m.group(1), None)
    for m in re.finditer(r"(?:\(\s*(\w+)\s*\)\s*)?context\.Variables\.(?:ContainsKey|TryGetValue|GetValueOrDefault)\(\s*[\"']([^\"']+)[\"']", expr):
        put(m.group(2), CASTS.get(m.group(1)))
    # `var x = (JArray)context.Variables[...]` patterns are covered above; `as string` reads strings.
    for m in re.finditer(r"context\.Variables\s*\[\s*[\"']([^\"']+)[\"']\s*\]\s+as\s+string", expr):
        found[m.group(1)] = "string"
    return found


def substitute_named_values(expr):
    return re.sub(r"\{\{([A-Za-z0-9_.\-]+)\}\}", lambda m: NAMED_VALUES[m.group(1)], expr)


def main():
    rows = [json.loads(l) for l in sys.stdin if l.strip()]
    out = {"seed": [], "dev": []}
    for r in rows:
        raw = r["expr"]
        expr = substitute_named_values(raw)
        variables = {}
        for name, ty in sorted(infer(expr).items()):
            if name not in VALUES:
                raise SystemExit(f"no value for variable {name!r} in {expr[:80]}")
            variables[name] = convert(VALUES[name], ty)
        first = r["sources"][0]
        area = first.split("/")[0]
        h = hashlib.sha1(raw.encode()).hexdigest()[:8]
        stem = os.path.splitext(os.path.basename(first))[0]
        # The expression text is third-party data: the case keeps only its hash; the test
        # resolves it from ../shared/corpus with scripts/resolve_corpus.py.
        case = {"id": f"{area}-{stem[:40]}-{h}",
                "expr_sha256": hashlib.sha256(expr.encode("utf-8")).hexdigest(), "source": first}
        if len(r["sources"]) > 1:
            case["also_in"] = r["sources"][1:]
        ctx = {"$base": "gateway"}
        if variables:
            ctx["variables"] = variables
        case["context"] = ctx
        notes = []
        if r["named_values"] and any(re.fullmatch(r"[A-Za-z0-9_.\-]+", n) for n in r["named_values"]):
            notes.append("named values replaced: " + ", ".join(n for n in r["named_values"] if n in NAMED_VALUES))
        if "Guid.NewGuid()" in expr or "new Random()" in expr:
            case["compare"] = "type"
            notes.append("value depends on Guid.NewGuid()/unseeded Random: compared by type")
        for needle, why in COMPILE_ERRORS:
            if needle in expr:
                case["compile_error"] = why
                break
        if notes:
            case["note"] = "; ".join(notes)
        out[area].append(case)
    for area, cases in out.items():
        path = os.path.join(HERE, f"../cases/corpus-{area}.json")
        with open(path, "w") as fh:
            json.dump({"category": f"corpus-{area}",
                       "description": f"Every distinct expression in ../shared/corpus/{area} (scripts/extract_corpus.py), by SHA-256: the texts are resolved from the corpus at test time (scripts/resolve_corpus.py)",
                       "cases": cases}, fh, indent=1, ensure_ascii=False)
            fh.write("\n")
        print(f"{path}: {len(cases)} cases", file=sys.stderr)


if __name__ == "__main__":
    main()
