"""The social provider sandbox: offline stand-ins for Google, Facebook, Login with Amazon and
Sign in with Apple, speaking each one's protocol closely enough that a user pool's identity
provider and an identity pool's Logins work unchanged (see README "Social sign-in offline").

- `providers`: what each provider is (its real endpoints, the shapes of its ids, tokens and
  user documents) and when the emulator uses the sandbox instead of it (`--social`);
- `sandbox`: test identities, authorization codes, tokens and signing keys, in the store;
- `pages`: the provider pages and endpoints under /_emulator/social/{provider}/.
"""
