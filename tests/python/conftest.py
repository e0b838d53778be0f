"""Fixtures for the simulator's SDK tests.

The simulator's base URL comes from APIM_SIM_BASE_URL (the Rust test
crates/simulator/tests/python_sdk.rs starts the simulator and sets it). Without it, the
tests start `target/debug/apim-emu simulate` themselves when it has been built, or skip.

tiktoken downloads its BPE files on first use; with no network, point
APIM_SIM_TIKTOKEN_BPE_DIR at a folder holding cl100k_base.tiktoken and o200k_base.tiktoken
(the Rust test writes them from tiktoken-rs's copy, byte for byte) and they are placed in
TIKTOKEN_CACHE_DIR under the names tiktoken looks for.
"""

import hashlib
import os
import pathlib
import re
import shutil
import subprocess
import tempfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BPE_URL = "https://openaipublic.blob.core.windows.net/encodings/{}.tiktoken"


def _prepare_tiktoken_cache():
    source = os.environ.get("APIM_SIM_TIKTOKEN_BPE_DIR")
    if not source:
        return
    cache = os.environ.get("TIKTOKEN_CACHE_DIR") or tempfile.mkdtemp(prefix="tiktoken-cache-")
    os.makedirs(cache, exist_ok=True)
    for name in ("cl100k_base", "o200k_base"):
        src = pathlib.Path(source) / f"{name}.tiktoken"
        if src.exists():
            key = hashlib.sha1(BPE_URL.format(name).encode()).hexdigest()
            shutil.copyfile(src, pathlib.Path(cache) / key)
    os.environ["TIKTOKEN_CACHE_DIR"] = cache


_prepare_tiktoken_cache()


@pytest.fixture(scope="session")
def base_url():
    url = os.environ.get("APIM_SIM_BASE_URL")
    if url:
        yield url.rstrip("/")
        return
    binary = ROOT / "target" / "debug" / "apim-emu"
    if not binary.exists():
        pytest.skip("APIM_SIM_BASE_URL is not set and target/debug/apim-emu is not built")
    proc = subprocess.Popen(
        [str(binary), "simulate", "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        match = re.search(r"listening on (http://\S+)", line)
        assert match, f"unexpected first line from apim-emu simulate: {line!r}"
        yield match.group(1)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


API_VERSION = "2024-10-21"


@pytest.fixture(scope="session")
def azure_client(base_url):
    from openai import AzureOpenAI

    return AzureOpenAI(azure_endpoint=base_url, api_key="any-key", api_version=API_VERSION)


@pytest.fixture(scope="session")
def openai_client(base_url):
    from openai import OpenAI

    return OpenAI(base_url=base_url + "/v1", api_key="any-key")
