"""The official OpenAI Python SDK, unchanged, against the simulator."""

import json
import math
import urllib.request

import openai
import pytest

MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "What is Azure API Management?"},
]


@pytest.fixture(params=["azure", "openai"])
def client(request, azure_client, openai_client):
    return azure_client if request.param == "azure" else openai_client


def test_chat_completion(client):
    r = client.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=200)
    assert r.id.startswith("chatcmpl-")
    assert r.object == "chat.completion"
    assert r.model == "gpt-4o-2024-08-06"
    assert r.choices[0].message.role == "assistant"
    assert r.choices[0].message.content
    assert r.choices[0].finish_reason == "stop"
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens
    again = client.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=200)
    assert again.choices[0].message.content == r.choices[0].message.content


def test_chat_max_tokens_gives_length(client):
    r = client.chat.completions.create(model="gpt-35-turbo", messages=MESSAGES, max_tokens=4)
    assert r.choices[0].finish_reason == "length"
    assert r.usage.completion_tokens == 4


def test_streaming_with_usage(client):
    plain = client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    stream = client.chat.completions.create(
        model="gpt-4o", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    text, finish, usage, chunks = "", None, None, 0
    for chunk in stream:
        chunks += 1
        if chunk.usage is not None:
            usage = chunk.usage
        for choice in chunk.choices:
            if choice.delta and choice.delta.content:
                text += choice.delta.content
            if choice.finish_reason:
                finish = choice.finish_reason
    assert text == plain.choices[0].message.content
    assert finish == "stop"
    assert usage is not None
    assert usage.prompt_tokens == plain.usage.prompt_tokens
    assert usage.completion_tokens == plain.usage.completion_tokens
    assert chunks > usage.completion_tokens  # one chunk per token, plus role/filter/final ones


def test_streaming_without_usage(client):
    stream = client.chat.completions.create(model="gpt-35-turbo", messages=MESSAGES, stream=True)
    usages = [c.usage for c in stream]
    assert all(u is None for u in usages)


def _cos(a, b):
    return sum(x * y for x, y in zip(a, b)) / (
        math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    )


def test_embeddings(client):
    texts = ["How do I reset my password?", "how can I reset my password", "Bananas are yellow fruit"]
    r = client.embeddings.create(model="text-embedding-3-small", input=texts)
    vectors = [d.embedding for d in r.data]
    assert [len(v) for v in vectors] == [1536, 1536, 1536]
    assert abs(_cos(vectors[0], vectors[0]) - 1.0) < 1e-5
    assert _cos(vectors[0], vectors[1]) > 0.7
    assert _cos(vectors[0], vectors[2]) < 0.3
    assert r.usage.prompt_tokens == r.usage.total_tokens > 0
    small = client.embeddings.create(model="text-embedding-3-small", input="hello", dimensions=256)
    assert len(small.data[0].embedding) == 256
    floats = client.embeddings.create(
        model="text-embedding-ada-002", input="hello", encoding_format="float"
    )
    assert len(floats.data[0].embedding) == 1536


def test_errors_raise_the_sdks_exceptions(base_url, azure_client):
    with pytest.raises(openai.NotFoundError) as e:
        azure_client.chat.completions.create(model="no-such-deployment", messages=MESSAGES)
    assert e.value.body["code"] == "DeploymentNotFound"
    with pytest.raises(openai.BadRequestError):
        azure_client.chat.completions.create(model="gpt-4o", messages=[])


def _admin(base_url, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base_url + path, data=data, method=method,
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return r.status


def test_rate_limit_raises_rate_limit_error_with_retry_after(base_url):
    # A tiny deployment, configured at run time through the admin endpoint.
    assert _admin(base_url, "PUT", "/_sim/deployments/tiny",
                  {"model": "gpt-4o", "tokens_per_minute": 30, "requests_per_minute": 0}) == 200
    client = openai.AzureOpenAI(
        azure_endpoint=base_url, api_key="k", api_version="2024-10-21", max_retries=0
    )
    client.chat.completions.create(model="tiny", messages=MESSAGES, max_tokens=5)
    with pytest.raises(openai.RateLimitError) as e:
        client.chat.completions.create(model="tiny", messages=MESSAGES, max_tokens=5)
    headers = e.value.response.headers
    assert int(headers["retry-after"]) >= 1
    assert int(headers["retry-after-ms"]) > 0
    assert headers["x-ratelimit-remaining-tokens"] is not None
    assert "exceeded token rate limit" in e.value.body["message"]
    assert _admin(base_url, "DELETE", "/_sim/deployments/tiny") == 204
