"""Sign-in: one engine for the API (InitiateAuth, RespondToAuthChallenge and their Admin twins)
and the managed login's pages.

- engine:     `SignIn` (one sign-in: context, pool, app client, user, state) and `Step` (what a
              step answers); the common path after the first factor (new password, MFA, device,
              tokens), triggers, user-state checks, lockout and threat-protection hooks
- flows:      first steps (InitiateAuth flows; the managed login's sign-in form)
- challenges: answers to challenges (RespondToAuthChallenge; the managed login's pages)
- srp_auth:   the SRP verifier steps
- custom:     CUSTOM_AUTH (Define / Create / Verify auth challenge triggers)
- sessions:   the single-use Session strings that carry a sign-in's state between steps
- ops:        the four API operations

The package's modules are imported with the other user pool modules (ops registers its handlers).
"""
