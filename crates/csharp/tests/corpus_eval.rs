//! Every corpus expression evaluates without a panic against a representative context; the
//! outcome kinds are printed for review.
mod corpus_support;

fn context() -> serde_json::Value {
    serde_json::json!({
        "request": {
            "method": "POST",
            "url": "https://contoso.azure-api.net/openai/deployments/gpt-4o/chat/completions?api-version=2024-02-01",
            "headers": {"Content-Type": "application/json", "Origin": "https://shop.contoso.com", "Authorization": "Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwicm9sZXMiOlsiYSIsImIiXX0.c2ln"},
            "body": {"messages": [{"role": "user", "content": "hi"}], "stream": true},
            "matchedParameters": {"deployment-id": "gpt-4o", "cacheKey": "k1", "blob-name": "b"}
        },
        "response": {"statusCode": 429, "statusReason": "Too Many Requests", "headers": {"Retry-After": "10", "x-ratelimit-remaining-tokens": "100"}, "body": {"a": 1}},
        "variables": {
            "urlId": 3, "backendIndex": 0, "chosen-index": 0, "backend-counter": 2, "total-backend-count": 3,
            "listBackends": [{"name": "b1", "priority": 1, "isThrottling": false, "retryAfter": "2024-05-01T12:00:00Z", "weight": 1}],
            "all-backends": [{"id": "b1", "weight": 2}, {"id": "b2", "weight": 1}],
            "loadBalancerConfig": "[{\"name\":\"b1\",\"priority\":1,\"weight\":1}]",
            "remaining-tokens": 100, "remaining-requests": 5, "low-priority-tpm-threshold": 50, "low-priority-rp10s-threshold": 2,
            "cacheKey": "abc", "apiId": "api", "corsOrigin": "", "products": "p1,p2", "authz_roles": "a,b"
        },
        "subscription": {"id": "sub-1", "key": "k", "name": "S"},
        "user": {"id": "u1"},
        "product": {"id": "p1", "name": "P"},
        "api": {"id": "api-1", "name": "Api (api-12)", "path": "openai"},
        "operation": {"id": "op", "method": "POST", "name": "chat", "urlTemplate": "/chat"},
        "lastError": {"source": "forward-request", "reason": "BackendConnectionFailure", "message": "m"}
    })
}

#[test]
fn every_corpus_expression_evaluates_without_panic() {
    let Some(exprs) = corpus_support::corpus_expressions() else {
        return;
    };
    let ctx = context();
    let mut seen = std::collections::HashSet::new();
    let (mut values, mut exceptions, mut rejected) = (0, 0, 0);
    for (_, e) in &exprs {
        if !seen.insert(e.clone()) {
            continue;
        }
        match apim_csharp::evaluate_with_json_context(e, &ctx) {
            apim_csharp::EvalOutcome::Value { .. } => values += 1,
            apim_csharp::EvalOutcome::Exception { type_name, message } => {
                exceptions += 1;
                println!("{type_name}: {message}\n    {}", e.replace('\n', " "));
            }
            apim_csharp::EvalOutcome::Rejected { .. } => rejected += 1,
        }
    }
    println!("values {values}, exceptions {exceptions}, rejected {rejected}");
    assert!(values > 200);
}
