"""Python callables the emulator invokes as Lambda functions in tests, and small HTTP fakes."""
