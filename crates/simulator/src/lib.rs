//! An Azure OpenAI compatible simulated backend: chat, completions, embeddings, streaming,
//! token usage, TPM/RPM limits and fault injection.
