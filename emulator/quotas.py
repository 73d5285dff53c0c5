"""AWS's request-rate quotas for Cognito, and the quota each API operation counts against.

Source: Amazon Cognito Developer Guide, "Quotas in Amazon Cognito"
(https://docs.aws.amazon.com/cognito/latest/developerguide/quotas.html), sections "Amazon Cognito
user pools API operation categories and request rate quotas" and "Amazon Cognito identity pools
(federated identities) API operation request rate quotas"; the same numbers are Service Quotas'
defaults ("Rate of <category> requests", service codes cognito-idp and cognito-identity).

What the page says, and the emulator follows (emulator/throttling.py enforces it):
- Every quota is "a maximum volume of requests in one AWS Region in one AWS account": "The category
  quota is enforced for each AWS account across all user pools in an account and Region". So the
  buckets are per account and Region, not per user pool.
- Besides that, every operation of the categories marked 1 (UserPoolResourceRead/Update,
  UserPoolClientRead/Update) "has a constraint that prevents the operation from being called at a rate
  higher than 5 RPS for a single user pool" (Service Quotas: "Rate of <category> requests per user pool").
- RespondToAuthChallenge and AdminRespondToAuthChallenge have "a separate quota that is three times
  the UserAuthentication category limit"; beyond it, "the excess rate counts towards the
  UserAuthentication category quota".
- A category's quota can be raised for the account and Region (UpdateProvisionedLimit).
- Not modelled: the per-user quotas (10 read and 10 write requests per second for each user), the
  quotas of the managed login pages and OAuth endpoints (UserFederation callbacks, ClientAuthentication
  at the token endpoint, JWKS), and Cognito Sync, whose documentation gives no request rates.

The page's text names the operations of UserCreation (SignUp, ConfirmSignUp, AdminCreateUser,
AdminConfirmSignUp) and UserAuthentication (AdminInitiateAuth, InitiateAuth, AdminRespondToAuthChallenge,
RespondToAuthChallenge). Its per-category lists of operations are not in the copy of the page this table
was made from, so every other operation is placed in the category whose description (quoted below) fits
it closest; operations newer than the page (sessions, passkeys, terms, branding, CIMD policies, replicas,
point-in-time recovery, derived and client tokens) are placed the same way.
`tests/test_throttling.py` checks that every operation of botocore's cognito-idp model has a category.
"""

from __future__ import annotations

# category -> default quota (requests per second, per account and Region)
USER_POOL_RATES: dict[str, int] = {
    "UserAuthentication": 120, "UserCreation": 50, "UserFederation": 25, "UserAccountRecovery": 30,
    "UserRead": 120, "UserUpdate": 25, "UserToken": 120, "UserResourceRead": 50, "UserResourceUpdate": 25,
    "UserList": 30, "UserPoolRead": 15, "UserPoolUpdate": 15, "UserPoolResourceRead": 20,
    "UserPoolResourceUpdate": 15, "UserPoolClientRead": 15, "UserPoolClientUpdate": 15,
    "ClientAuthentication": 150,
}
# Footnote 1: each operation of these categories at most PER_POOL_RATE requests per second per user pool.
PER_POOL_CATEGORIES = frozenset({"UserPoolResourceRead", "UserPoolResourceUpdate", "UserPoolClientRead",
                                 "UserPoolClientUpdate"})
PER_POOL_RATE = 5
# "Special handling": challenge responses have their own quota of 3 x UserAuthentication.
CHALLENGE_OPERATIONS = frozenset({"RespondToAuthChallenge", "AdminRespondToAuthChallenge"})
CHALLENGE_FACTOR = 3

# category -> operations, under the page's description of the category.
_CATEGORY_OPERATIONS: dict[str, tuple[str, ...]] = {
    # "Operations that authenticate (sign in) a user." Named by the page: the first four. A refresh
    # is a sign-in (the page counts token refreshes to UserAuthentication).
    "UserAuthentication": ("AdminInitiateAuth", "InitiateAuth", "AdminRespondToAuthChallenge",
                           "RespondToAuthChallenge", "GetTokensFromRefreshToken"),
    # "Operations that create or confirm an Amazon Cognito native user." Named by the page.
    "UserCreation": ("SignUp", "ConfirmSignUp", "AdminCreateUser", "AdminConfirmSignUp"),
    # "Operations that recover a user's account, or change or update a user's password."
    "UserAccountRecovery": ("ForgotPassword", "ConfirmForgotPassword", "ChangePassword", "AdminResetUserPassword",
                            "AdminSetUserPassword"),
    # "Operations that retrieve a user from your user pools."
    "UserRead": ("AdminGetUser", "GetUser", "AdminGetUserAuthFactors", "GetUserAuthFactors"),
    # "Operations that you use to manage users and user attributes." (MFA and passkey settings too:
    # the page's per-user quota counts "updating profile information or MFA settings" as writes.)
    "UserUpdate": (
        "AdminDeleteUser", "AdminDeleteUserAttributes", "AdminDisableProviderForUser", "AdminDisableUser",
        "AdminEnableUser", "AdminLinkProviderForUser", "AdminSetUserMFAPreference", "AdminSetUserSettings",
        "AdminUpdateUserAttributes", "AdminUserGlobalSignOut", "AssociateSoftwareToken", "DeleteUser",
        "DeleteUserAttributes", "GlobalSignOut", "SetUserMFAPreference", "SetUserSettings",
        "UpdateUserAttributes", "VerifySoftwareToken", "VerifyUserAttribute", "AdminDeleteSoftwareToken",
        "StartWebAuthnRegistration", "CompleteWebAuthnRegistration", "DeleteWebAuthnCredential",
    ),
    # "Operations for token management."
    "UserToken": ("RevokeToken", "GetDerivedToken", "AdminRevokeUserSession", "RevokeUserSession"),
    # "Operations that retrieve user resource information from Amazon Cognito, such as a remembered
    # device or a group membership." (Codes sent for a user's attributes and sign-up, too.)
    "UserResourceRead": (
        "AdminGetDevice", "AdminListDevices", "AdminListGroupsForUser", "AdminListUserAuthEvents", "GetDevice",
        "ListDevices", "GetUserAttributeVerificationCode", "ResendConfirmationCode", "ListWebAuthnCredentials",
        "AdminListUserSessions", "ListUserSessions",
    ),
    # "Operations that update resource information for a user, such as a remembered device or a group membership."
    "UserResourceUpdate": (
        "AdminAddUserToGroup", "AdminRemoveUserFromGroup", "AdminForgetDevice", "AdminUpdateDeviceStatus",
        "ConfirmDevice", "ForgetDevice", "UpdateDeviceStatus", "AdminUpdateAuthEventFeedback",
        "UpdateAuthEventFeedback",
    ),
    # "Operations that return a list of users."
    "UserList": ("ListUsers", "ListUsersInGroup"),
    # "Operations that read your user pools."
    "UserPoolRead": (
        "DescribeUserPool", "ListUserPools", "GetUserPoolMfaConfig", "ListTagsForResource", "GetProvisionedLimit",
        "DescribePointInTimeRecovery", "ListPointInTimeRecoveries", "ListUserPoolReplicas",
        "GetUserPoolSessionConfiguration",
    ),
    # "Operations that create, update, or delete your user pools."
    "UserPoolUpdate": (
        "CreateUserPool", "UpdateUserPool", "DeleteUserPool", "AddCustomAttributes", "SetUserPoolMfaConfig",
        "TagResource", "UntagResource", "UpdateProvisionedLimit", "InitiatePointInTimeRecovery",
        "StartPointInTimeRecovery", "CancelPointInTimeRecovery", "CreateUserPoolReplica", "UpdateUserPoolReplica",
        "DeleteUserPoolReplica", "SetUserPoolSessionConfiguration",
    ),
    # "Operations that retrieve information about resources, such as groups or resource servers, from a user pool."
    "UserPoolResourceRead": (
        "DescribeIdentityProvider", "DescribeResourceServer", "DescribeRiskConfiguration", "DescribeUserImportJob",
        "DescribeUserPoolDomain", "GetCSVHeader", "GetGroup", "GetIdentityProviderByIdentifier",
        "GetLogDeliveryConfiguration", "GetSigningCertificate", "GetUICustomization", "ListGroups",
        "ListIdentityProviders", "ListResourceServers", "ListUserImportJobs", "DescribeManagedLoginBranding",
        "DescribeManagedLoginBrandingByClient", "DescribeTerms", "DescribeTermsByClient", "ListTerms",
        "DescribeCIMDPolicy", "ListCIMDPolicies", "ListClientMetadataURLs",
    ),
    # "Operations that modify resources, such as groups or resource servers, in a user pool."
    "UserPoolResourceUpdate": (
        "CreateGroup", "UpdateGroup", "DeleteGroup", "CreateIdentityProvider", "UpdateIdentityProvider",
        "DeleteIdentityProvider", "CreateResourceServer", "UpdateResourceServer", "DeleteResourceServer",
        "CreateUserImportJob", "StartUserImportJob", "StopUserImportJob", "CreateUserPoolDomain",
        "UpdateUserPoolDomain", "DeleteUserPoolDomain", "SetRiskConfiguration", "SetUICustomization",
        "SetLogDeliveryConfiguration", "CreateManagedLoginBranding", "UpdateManagedLoginBranding",
        "DeleteManagedLoginBranding", "CreateTerms", "UpdateTerms", "DeleteTerms", "CreateCIMDPolicy",
        "UpdateCIMDPolicy", "DeleteCIMDPolicy", "UpdateClientMetadataURLState",
    ),
    # "Operations that retrieve information about your user pool clients."
    "UserPoolClientRead": ("DescribeUserPoolClient", "ListUserPoolClients", "ListUserPoolClientSecrets",
                           "GetUserPoolClientSessionConfiguration"),
    # "Operations that create, update, and delete your user pool clients."
    "UserPoolClientUpdate": ("CreateUserPoolClient", "UpdateUserPoolClient", "DeleteUserPoolClient",
                             "AddUserPoolClientSecret", "DeleteUserPoolClientSecret",
                             "SetUserPoolClientSessionConfiguration"),
    # "client_credentials grant type requests to the TOKEN endpoint": GetClientToken is the API operation
    # that issues the same machine-to-machine access token.
    "ClientAuthentication": ("GetClientToken",),
    # UserFederation ("Amazon Cognito managed operations to federate a user through a third-party IdP"):
    # the federation callbacks of managed login, no API operation.
}
USER_POOL_CATEGORIES: dict[str, str] = {op: category for category, ops in _CATEGORY_OPERATIONS.items()
                                        for op in ops}

# cognito-identity: one quota per operation, per account and Region (requests per second). The
# developer guide's table gives GetId 25, GetCredentialsForIdentity 200 and
# GetOpenIdTokenForDeveloperIdentity 50; the other rates are Service Quotas' defaults (L-E97D135E,
# L-DBF99350, L-DAF3EAFF, L-0D31D6D2, L-50C9AAB8). Operations without a documented quota are not throttled.
IDENTITY_POOL_RATES: dict[str, int] = {
    "GetId": 25, "GetCredentialsForIdentity": 200, "GetOpenIdToken": 200, "GetOpenIdTokenForDeveloperIdentity": 50,
    "ListIdentities": 5, "TagResource": 1, "UntagResource": 1, "ListTagsForResource": 10,
}

# The message of the TooManyRequestsException a refused request gets, as AWS words it (docs/fidelity.md);
# the models give the error no status, so HTTP 400.
MESSAGE = "Rate exceeded"
