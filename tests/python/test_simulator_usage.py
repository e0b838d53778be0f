"""Usage reported by the simulator equals tiktoken's count for 50 varied prompts."""

import pytest
import tiktoken

# OpenAI cookbook: 3 tokens per message, the tokens of every value, 1 more for a name,
# and 3 to prime the reply.
def cookbook_count(encoding, messages):
    total = 0
    for message in messages:
        total += 3
        for key, value in message.items():
            total += len(encoding.encode(value, disallowed_special=()))
            if key == "name":
                total += 1
    return total + 3


TEXTS = [
    "Hello!",
    "What is the capital of France?",
    "Summarise the following text in two sentences: Azure API Management is a hybrid, multicloud management platform for APIs across all environments.",
    "Translate 'good morning' into German, French and Japanese.",
    "こんにちは、元気ですか？",
    "Привет! Как дела?",
    "¿Dónde está la biblioteca?",
    "emoji test 🚀🔥✨ and more 👩‍💻",
    "def fib(n):\n    return n if n < 2 else fib(n-1) + fib(n-2)\n",
    "SELECT id, name FROM users WHERE created_at > '2024-01-01' ORDER BY name;",
    '{"json": [1, 2, 3], "nested": {"a": null, "b": true}}',
    "   leading and trailing spaces   ",
    "tabs\tand\nnewlines\r\nmixed",
    "A" * 300,
    "The quick brown fox jumps over the lazy dog. " * 20,
    "1234567890 3.14159 -42 1e10 0xFF",
    "https://learn.microsoft.com/azure/api-management/azure-openai-token-limit-policy?tabs=x#section",
    "Mixed CASE words LikeThis and snake_case and kebab-case",
    "<policies><inbound><base /></inbound></policies>",
    "Ünïcödé àccénts ñ ç ø å æ œ ß",
    "中文文本测试，包括标点符号。",
    "한국어 문장입니다.",
    "עברית מימין לשמאל",
    "العربية نص تجريبي",
    "हिन्दी में एक वाक्य",
    "<|endoftext|> is a special token written as text",
    "",
    "a",
    "!!!???...,,,;;;",
    "Line one\n\nLine three after a blank line",
]


def conversations():
    convs = []
    for i, text in enumerate(TEXTS):
        convs.append([{"role": "user", "content": text}])
    convs += [
        [{"role": "system", "content": "You are a pirate."}, {"role": "user", "content": "Tell me about ships."}],
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi", "name": "alice"}],
        [{"role": "user", "content": "What's 2+2?"}, {"role": "assistant", "content": "4"}, {"role": "user", "content": "And 3+3?"}],
        [{"role": "system", "name": "example_user", "content": "New synergies will help drive top-line growth."}],
        [{"role": "developer", "content": "Answer in JSON."}, {"role": "user", "content": "List three colours."}],
        [{"role": "user", "content": TEXTS[14]}, {"role": "assistant", "content": TEXTS[2]}],
        [{"role": "user", "content": "x", "name": "a_very_long_name_with_underscores_123"}],
        [{"role": "system", "content": ""}, {"role": "user", "content": "empty system message"}],
        [{"role": "user", "content": "Multi\nline\nprompt\nwith\nmany\nlines"}] * 3,
        [{"role": "assistant", "content": "I am an assistant speaking first."}],
    ]
    convs += [
        [{"role": "user", "content": f"Prompt number {i}: describe item {i * 7} in {i} words."}]
        for i in range(10)
    ]
    return convs


CONVERSATIONS = conversations()


def test_there_are_fifty_prompts():
    assert len(CONVERSATIONS) == 50


@pytest.mark.parametrize(
    "deployment,encoding_name", [("gpt-4o", "o200k_base"), ("gpt-35-turbo", "cl100k_base")]
)
def test_prompt_and_completion_tokens_match_tiktoken(azure_client, deployment, encoding_name):
    encoding = tiktoken.get_encoding(encoding_name)
    mismatches = []
    for messages in CONVERSATIONS:
        r = azure_client.chat.completions.create(model=deployment, messages=messages, max_tokens=100)
        expected = cookbook_count(encoding, messages)
        if r.usage.prompt_tokens != expected:
            mismatches.append((messages, r.usage.prompt_tokens, expected))
        completion = len(encoding.encode(r.choices[0].message.content))
        assert r.usage.completion_tokens == completion
    assert not mismatches, mismatches[:5]


def test_embedding_usage_matches_tiktoken(azure_client):
    encoding = tiktoken.get_encoding("cl100k_base")
    inputs = [t for t in TEXTS if t]
    r = azure_client.embeddings.create(model="text-embedding-ada-002", input=inputs)
    assert r.usage.prompt_tokens == sum(len(encoding.encode(t, disallowed_special=())) for t in inputs)
