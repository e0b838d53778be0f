//! Unit tests for policies: the test-case format, runner, mocks, reporters and `diff`.
