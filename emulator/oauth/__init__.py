"""Managed login (hosted UI) and the OAuth 2.0 / OIDC endpoints of user pools.

Served on the emulator's own port at AWS's paths (/oauth2/authorize, /login, /oauth2/token,
/oauth2/userInfo, /oauth2/revoke, /logout, ...); the pool is found from client_id (or from the
access token), and must have a domain (CreateUserPoolDomain), as on AWS.

- common:          tables, the unit of work of every route, authorize requests, finishing a sign-in
- managed_login:   the managed login's Blueprint and what its pages share
- pages:           /oauth2/authorize, /login, /logout, /error, /confirmUser
- challenge_pages: the sign-in engine's challenges as pages (/newPassword, /mfa, /mfa/select, /mfa/setup)
- account_pages:   /signup, /confirm, /forgotPassword, /confirmForgotPassword
- endpoints:       /oauth2/token (grant types by grant_type), /oauth2/userInfo, /oauth2/revoke
- federation:      OIDC / OAuth 2.0 identity providers (/oauth2/idpresponse)
- saml:            SAML identity providers (/saml2/idpresponse, /saml2/logout); saml_protocol: SAML itself
- federated_users: the user an external identity signs in as
- mount:           registers the Blueprints on the emulator's Flask app
"""
