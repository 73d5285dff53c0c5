"""Pool resources: domains, resource servers, identity providers, branding, terms, risk,
log delivery, tags, MFA configuration, auth events."""

from __future__ import annotations

import re

import pytest
import requests
from botocore.exceptions import ClientError
from helpers import error, unique

CERT = "arn:aws:acm:us-east-1:000000000000:certificate/abcd"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture
def client_id(idp, pool_id):
    return idp.create_user_pool_client(UserPoolId=pool_id, ClientName="c")["UserPoolClient"]["ClientId"]


# -- domains ----------------------------------------------------------------------------------
def test_prefix_domain_lifecycle(idp, pool_id):
    prefix = unique("auth")
    out = idp.create_user_pool_domain(UserPoolId=pool_id, Domain=prefix, ManagedLoginVersion=2)
    assert out["ManagedLoginVersion"] == 2
    desc = idp.describe_user_pool_domain(Domain=prefix)["DomainDescription"]
    assert desc["UserPoolId"] == pool_id and desc["Domain"] == prefix and desc["Status"] == "ACTIVE"
    assert desc["AWSAccountId"] == "000000000000" and desc["ManagedLoginVersion"] == 2
    # As AWS describes a prefix domain: an empty CustomDomainConfig and a timestamp Version.
    assert desc["CustomDomainConfig"] == {}
    assert re.fullmatch(r"\d{14}", desc["Version"])
    assert desc["CloudFrontDistribution"].endswith(".cloudfront.net")
    assert idp.describe_user_pool(UserPoolId=pool_id)["UserPool"]["Domain"] == prefix
    other = idp.create_user_pool(PoolName=unique("pool"))["UserPool"]["Id"]
    with pytest.raises(ClientError) as exc:
        idp.create_user_pool_domain(UserPoolId=other, Domain=prefix)
    assert error(exc) == ("InvalidParameterException", "Domain already associated with another user pool.")
    with pytest.raises(ClientError) as exc:
        idp.create_user_pool_domain(UserPoolId=pool_id, Domain=unique("auth"))
    assert error(exc) == ("InvalidParameterException", "User pool already has a domain configured.")
    idp.update_user_pool_domain(UserPoolId=pool_id, Domain=prefix, ManagedLoginVersion=1)
    assert idp.describe_user_pool_domain(Domain=prefix)["DomainDescription"]["ManagedLoginVersion"] == 1
    with pytest.raises(ClientError) as exc:
        idp.delete_user_pool_domain(UserPoolId=other, Domain=prefix)
    assert error(exc) == ("InvalidParameterException", "No such domain or user pool exists.")
    idp.delete_user_pool_domain(UserPoolId=pool_id, Domain=prefix)
    assert idp.describe_user_pool_domain(Domain=prefix)["DomainDescription"] == {}
    assert "Domain" not in idp.describe_user_pool(UserPoolId=pool_id)["UserPool"]


def test_domain_reserved_words_and_custom(idp, pool_id):
    with pytest.raises(ClientError) as exc:
        idp.create_user_pool_domain(UserPoolId=pool_id, Domain="my-cognito-app")
    assert error(exc) == ("InvalidParameterException", "Domain name cannot contain reserved word: cognito")
    custom = unique("login") + ".example.com"
    out = idp.create_user_pool_domain(UserPoolId=pool_id, Domain=custom,
                                      CustomDomainConfig={"CertificateArn": CERT})
    assert out["CloudFrontDomain"].endswith(".cloudfront.net")
    desc = idp.describe_user_pool_domain(Domain=custom)["DomainDescription"]
    assert desc["CustomDomainConfig"] == {"CertificateArn": CERT}
    assert idp.describe_user_pool(UserPoolId=pool_id)["UserPool"]["CustomDomain"] == custom
    idp.update_user_pool_domain(UserPoolId=pool_id, Domain=custom,
                                CustomDomainConfig={"CertificateArn": CERT + "2"})
    assert idp.describe_user_pool_domain(Domain=custom)["DomainDescription"]["CustomDomainConfig"][
        "CertificateArn"] == CERT + "2"
    idp.delete_user_pool_domain(UserPoolId=pool_id, Domain=custom)


# -- resource servers ---------------------------------------------------------------------------
def test_resource_servers(idp, pool_id):
    scopes = [{"ScopeName": "read", "ScopeDescription": "Read"}]
    server = idp.create_resource_server(UserPoolId=pool_id, Identifier="https://api.example.com", Name="api",
                                        Scopes=scopes)["ResourceServer"]
    assert server == {"UserPoolId": pool_id, "Identifier": "https://api.example.com", "Name": "api",
                      "Scopes": scopes}
    with pytest.raises(ClientError) as exc:
        idp.create_resource_server(UserPoolId=pool_id, Identifier="https://api.example.com", Name="api")
    assert error(exc) == ("InvalidParameterException",
                          f"https://api.example.com already exists in user pool {pool_id}.")
    updated = idp.update_resource_server(UserPoolId=pool_id, Identifier="https://api.example.com", Name="api2",
                                         Scopes=[])["ResourceServer"]
    assert updated["Name"] == "api2" and updated["Scopes"] == []
    assert idp.describe_resource_server(UserPoolId=pool_id,
                                        Identifier="https://api.example.com")["ResourceServer"] == updated
    for i in range(4):
        idp.create_resource_server(UserPoolId=pool_id, Identifier=f"rs{i}", Name="n")
    page = idp.list_resource_servers(UserPoolId=pool_id, MaxResults=2)
    seen = [s["Identifier"] for s in page["ResourceServers"]]
    while "NextToken" in page:
        page = idp.list_resource_servers(UserPoolId=pool_id, MaxResults=2, NextToken=page["NextToken"])
        seen += [s["Identifier"] for s in page["ResourceServers"]]
    assert sorted(seen) == sorted(["https://api.example.com", "rs0", "rs1", "rs2", "rs3"])
    idp.delete_resource_server(UserPoolId=pool_id, Identifier="rs0")
    with pytest.raises(ClientError) as exc:
        idp.describe_resource_server(UserPoolId=pool_id, Identifier="rs0")
    assert error(exc) == ("ResourceNotFoundException", f"Resource server rs0 does not exist in user pool {pool_id}.")


# -- identity providers -----------------------------------------------------------------------
def test_identity_providers(idp, pool_id):
    google = idp.create_identity_provider(
        UserPoolId=pool_id, ProviderName="Google", ProviderType="Google",
        ProviderDetails={"client_id": "gid", "client_secret": "gs", "authorize_scopes": "openid email"},
        AttributeMapping={"email": "email"})["IdentityProvider"]
    assert google["ProviderDetails"]["authorize_url"] == "https://accounts.google.com/o/oauth2/v2/auth"
    assert google["AttributeMapping"] == {"email": "email", "username": "sub"}
    oidc = idp.create_identity_provider(
        UserPoolId=pool_id, ProviderName="Corp", ProviderType="OIDC", IdpIdentifiers=["corp.example"],
        ProviderDetails={"client_id": "c", "client_secret": "s", "authorize_scopes": "openid",
                         "oidc_issuer": "https://issuer.example", "attributes_request_method": "GET"},
    )["IdentityProvider"]
    assert oidc["ProviderDetails"]["oidc_issuer"] == "https://issuer.example"
    found = idp.get_identity_provider_by_identifier(UserPoolId=pool_id, IdpIdentifier="corp.example")
    assert found["IdentityProvider"]["ProviderName"] == "Corp"
    saml = idp.create_identity_provider(
        UserPoolId=pool_id, ProviderName="Okta", ProviderType="SAML",
        ProviderDetails={"MetadataFile": '<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata">'
                         '<IDPSSODescriptor><SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:'
                         'bindings:HTTP-Redirect" Location="https://idp.example/sso"/></IDPSSODescriptor>'
                         '</EntityDescriptor>'})["IdentityProvider"]
    assert saml["ProviderDetails"]["SSORedirectBindingURI"] == "https://idp.example/sso"
    cases = [
        (dict(ProviderName="Corp", ProviderType="OIDC", ProviderDetails=oidc["ProviderDetails"]),
         ("DuplicateProviderException", "A provider with the name Corp already exists in this user pool.")),
        (dict(ProviderName="Corp2", ProviderType="OIDC", ProviderDetails=oidc["ProviderDetails"],
              IdpIdentifiers=["corp.example"]),
         ("DuplicateProviderException", "Identifier corp.example is already used by provider Corp.")),
        (dict(ProviderName="Saml2", ProviderType="SAML", ProviderDetails={"IDPSignout": "true"}),
         ("InvalidParameterException", "MetadataURL or MetadataFile is required for a SAML identity provider.")),
        (dict(ProviderName="Oidc2", ProviderType="OIDC", ProviderDetails={"client_id": "c"}),
         ("InvalidParameterException", "authorize_scopes is required for provider type OIDC.")),
        (dict(ProviderName="Facebook", ProviderType="Facebook", ProviderDetails={"client_id": "c"}),
         ("InvalidParameterException", "client_secret is required for provider type Facebook.")),
        (dict(ProviderName="Apple", ProviderType="SignInWithApple", ProviderDetails={"client_id": "c"}),
         ("InvalidParameterException", "Provider Apple cannot be of type SignInWithApple.")),
    ]
    for kwargs, expected in cases:
        with pytest.raises(ClientError) as exc:
            idp.create_identity_provider(UserPoolId=pool_id, **kwargs)
        assert error(exc) == expected, kwargs
    updated = idp.update_identity_provider(UserPoolId=pool_id, ProviderName="Google",
                                           ProviderDetails={"authorize_scopes": "openid"})["IdentityProvider"]
    assert updated["ProviderDetails"]["authorize_scopes"] == "openid"
    assert updated["ProviderDetails"]["client_id"] == "gid"
    listed = idp.list_identity_providers(UserPoolId=pool_id, MaxResults=2)
    names = [p["ProviderName"] for p in listed["Providers"]]
    listed = idp.list_identity_providers(UserPoolId=pool_id, MaxResults=2, NextToken=listed["NextToken"])
    names += [p["ProviderName"] for p in listed["Providers"]]
    assert names == ["Corp", "Google", "Okta"]
    client = idp.create_user_pool_client(UserPoolId=pool_id, ClientName="fed",
                                         SupportedIdentityProviders=["COGNITO", "Google"])["UserPoolClient"]
    assert client["SupportedIdentityProviders"] == ["COGNITO", "Google"]
    idp.delete_identity_provider(UserPoolId=pool_id, ProviderName="Okta")
    with pytest.raises(ClientError) as exc:
        idp.describe_identity_provider(UserPoolId=pool_id, ProviderName="Okta")
    assert error(exc) == ("ResourceNotFoundException", "Identity provider Okta does not exist.")
    with pytest.raises(ClientError) as exc:
        idp.get_identity_provider_by_identifier(UserPoolId=pool_id, IdpIdentifier="nope")
    assert error(exc) == ("ResourceNotFoundException", "Identity provider with identifier nope does not exist.")


# -- UI customization and managed login branding ------------------------------------------------
def test_ui_customization(idp, pool_id, client_id):
    with pytest.raises(ClientError) as exc:
        idp.set_ui_customization(UserPoolId=pool_id, CSS=".banner-customizable {color: red}")
    assert error(exc) == ("InvalidParameterException",
                          "There has to be an existing domain associated with this user pool")
    default = idp.get_ui_customization(UserPoolId=pool_id)["UICustomization"]
    assert default == {"UserPoolId": pool_id, "ClientId": "ALL"}
    idp.create_user_pool_domain(UserPoolId=pool_id, Domain=unique("ui"))
    pool_level = idp.set_ui_customization(UserPoolId=pool_id, CSS=".a {}")["UICustomization"]
    assert pool_level["ClientId"] == "ALL" and pool_level["CSS"] == ".a {}"
    mine = idp.set_ui_customization(UserPoolId=pool_id, ClientId=client_id, CSS=".b {}",
                                    ImageFile=PNG)["UICustomization"]
    assert idp.get_ui_customization(UserPoolId=pool_id, ClientId=client_id)["UICustomization"]["CSS"] == ".b {}"
    logo = requests.get(mine["ImageUrl"], timeout=10)
    assert logo.status_code == 200 and logo.content == PNG
    with pytest.raises(ClientError) as exc:
        idp.set_ui_customization(UserPoolId=pool_id, ClientId=client_id, ImageFile=b"GIF89a....")
    assert error(exc) == ("InvalidParameterException", "The image file must be a PNG or JPEG image.")
    with pytest.raises(ClientError) as exc:
        idp.set_ui_customization(UserPoolId=pool_id, ClientId=client_id, ImageFile=PNG + b"\x00" * 100 * 1024)
    assert error(exc) == ("InvalidParameterException", "The image file must not exceed 100 KB.")
    domain = idp.describe_user_pool(UserPoolId=pool_id)["UserPool"]["Domain"]
    idp.delete_user_pool_domain(UserPoolId=pool_id, Domain=domain)


def test_managed_login_branding(idp, pool_id, client_id):
    made = idp.create_managed_login_branding(UserPoolId=pool_id, ClientId=client_id,
                                             UseCognitoProvidedValues=True)["ManagedLoginBranding"]
    bid = made["ManagedLoginBrandingId"]
    assert made["UseCognitoProvidedValues"] is True
    with pytest.raises(ClientError) as exc:
        idp.create_managed_login_branding(UserPoolId=pool_id, ClientId=client_id, UseCognitoProvidedValues=True)
    assert error(exc) == ("ManagedLoginBrandingExistsException",
                          "A managed login branding style already exists for this app client.")
    by_client = idp.describe_managed_login_branding_by_client(UserPoolId=pool_id, ClientId=client_id)
    assert by_client["ManagedLoginBranding"]["ManagedLoginBrandingId"] == bid
    asset = {"Category": "PAGE_HEADER_LOGO", "ColorMode": "LIGHT", "Extension": "PNG", "Bytes": PNG}
    updated = idp.update_managed_login_branding(UserPoolId=pool_id, ManagedLoginBrandingId=bid,
                                                Settings={"components": {"pageBackground": {}}},
                                                Assets=[asset])["ManagedLoginBranding"]
    assert updated["UseCognitoProvidedValues"] is False
    assert updated["Settings"] == {"components": {"pageBackground": {}}}
    assert updated["Assets"][0]["Bytes"] == PNG
    got = idp.describe_managed_login_branding(UserPoolId=pool_id, ManagedLoginBrandingId=bid)
    assert got["ManagedLoginBranding"]["Assets"][0]["Category"] == "PAGE_HEADER_LOGO"
    idp.delete_managed_login_branding(UserPoolId=pool_id, ManagedLoginBrandingId=bid)
    with pytest.raises(ClientError) as exc:
        idp.describe_managed_login_branding(UserPoolId=pool_id, ManagedLoginBrandingId=bid)
    assert error(exc) == ("ResourceNotFoundException", f"Managed login branding {bid} does not exist.")
    with pytest.raises(ClientError) as exc:
        idp.describe_managed_login_branding_by_client(UserPoolId=pool_id, ClientId=client_id)
    assert error(exc) == ("ResourceNotFoundException", f"Managed login branding for client {client_id} does not exist.")
    with pytest.raises(ClientError) as exc:
        idp.create_managed_login_branding(UserPoolId=pool_id, ClientId=client_id, UseCognitoProvidedValues=True,
                                          Settings={"components": {}})
    assert error(exc) == ("InvalidParameterException",
                          "Settings cannot be provided when UseCognitoProvidedValues is true.")
    with pytest.raises(ClientError) as exc:
        idp.create_managed_login_branding(UserPoolId=pool_id, ClientId=client_id, Assets=[asset, asset])
    assert error(exc) == ("InvalidParameterException",
                          "Duplicate asset for category PAGE_HEADER_LOGO and color mode LIGHT.")
    with pytest.raises(ClientError) as exc:  # both are optional in the model, yet needed
        idp.update_managed_login_branding(UserPoolId=pool_id)
    assert error(exc) == ("InvalidParameterException", "UserPoolId and ManagedLoginBrandingId are required.")


def test_managed_login_branding_settings_echoed(idp, pool_id, client_id):
    settings = {"components": {"pageBackground": {"image": {"enabled": True}}}}
    made = idp.create_managed_login_branding(UserPoolId=pool_id, ClientId=client_id,
                                             Settings=settings)["ManagedLoginBranding"]
    assert made["Settings"] == settings


# -- terms ------------------------------------------------------------------------------------
def test_terms(idp, pool_id, client_id):
    links = {"cognito:default": "https://example.com/terms"}
    terms = idp.create_terms(UserPoolId=pool_id, ClientId=client_id, TermsName="terms-of-use",
                             TermsSource="LINK", Enforcement="NONE", Links=links)["Terms"]
    assert terms["Links"] == links and terms["ClientId"] == client_id
    with pytest.raises(ClientError) as exc:
        idp.create_terms(UserPoolId=pool_id, ClientId=client_id, TermsName="terms-of-use",
                         TermsSource="LINK", Enforcement="NONE", Links=links)
    assert error(exc) == ("TermsExistsException", "Terms terms-of-use already exist for this app client.")
    with pytest.raises(ClientError) as exc:
        idp.create_terms(UserPoolId=pool_id, ClientId=client_id, TermsName="privacy-policy",
                         TermsSource="LINK", Enforcement="NONE", Links={"cognito:english": "https://e.x/p"})
    assert error(exc) == ("InvalidParameterException", "Links must include a cognito:default link.")
    with pytest.raises(ClientError) as exc:
        idp.create_terms(UserPoolId=pool_id, ClientId=client_id, TermsName="privacy-policy",
                         TermsSource="LINK", Enforcement="NONE", Links={"cognito:default": "http://e.x/p"})
    assert error(exc) == ("InvalidParameterException", "Link http://e.x/p must be an https URL.")
    new_links = {"cognito:default": "https://example.com/terms2"}
    updated = idp.update_terms(UserPoolId=pool_id, TermsId=terms["TermsId"], Links=new_links)["Terms"]
    assert updated["Links"] == new_links
    assert idp.describe_terms(UserPoolId=pool_id, TermsId=terms["TermsId"])["Terms"]["Links"] == new_links
    by_client = idp.describe_terms_by_client(UserPoolId=pool_id, ClientId=client_id, TermsName="terms-of-use")
    assert by_client["Terms"]["TermsId"] == terms["TermsId"]
    with pytest.raises(ClientError) as exc:
        idp.describe_terms_by_client(UserPoolId=pool_id, ClientId=client_id, TermsName="privacy-policy")
    assert error(exc) == ("ResourceNotFoundException",
                          f"Terms privacy-policy do not exist for app client {client_id}.")
    listed = idp.list_terms(UserPoolId=pool_id)["Terms"]
    assert [t["TermsId"] for t in listed] == [terms["TermsId"]]
    idp.delete_terms(UserPoolId=pool_id, TermsId=terms["TermsId"])
    with pytest.raises(ClientError) as exc:
        idp.describe_terms(UserPoolId=pool_id, TermsId=terms["TermsId"])
    assert error(exc) == ("ResourceNotFoundException", f"Terms {terms['TermsId']} does not exist.")


# -- risk configuration, log delivery, tags -----------------------------------------------------
def test_risk_configuration(idp, pool_id, client_id):
    assert idp.describe_risk_configuration(UserPoolId=pool_id)["RiskConfiguration"] == {"UserPoolId": pool_id}
    config = idp.set_risk_configuration(
        UserPoolId=pool_id,
        CompromisedCredentialsRiskConfiguration={"EventFilter": ["SIGN_IN"], "Actions": {"EventAction": "BLOCK"}},
        RiskExceptionConfiguration={"BlockedIPRangeList": ["10.0.0.0/8"]})["RiskConfiguration"]
    assert config["CompromisedCredentialsRiskConfiguration"]["Actions"] == {"EventAction": "BLOCK"}
    described = idp.describe_risk_configuration(UserPoolId=pool_id, ClientId=client_id)["RiskConfiguration"]
    assert described["RiskExceptionConfiguration"] == {"BlockedIPRangeList": ["10.0.0.0/8"]}
    with pytest.raises(ClientError) as exc:
        idp.set_risk_configuration(UserPoolId=pool_id, RiskExceptionConfiguration={"SkippedIPRangeList": ["x/99"]})
    assert error(exc) == ("InvalidParameterException", "Invalid IP range x/99 in SkippedIPRangeList.")
    with pytest.raises(ClientError) as exc:
        idp.set_risk_configuration(UserPoolId=pool_id, AccountTakeoverRiskConfiguration={
            "Actions": {"HighAction": {"Notify": True, "EventAction": "BLOCK"}}})
    assert error(exc) == ("InvalidParameterException",
                          "NotifyConfiguration is required when a notify action is configured.")


def test_log_delivery(idp, pool_id):
    got = idp.get_log_delivery_configuration(UserPoolId=pool_id)["LogDeliveryConfiguration"]
    assert got == {"UserPoolId": pool_id, "LogConfigurations": []}
    config = [{"LogLevel": "ERROR", "EventSource": "userNotification", "CloudWatchLogsConfiguration": {
        "LogGroupArn": "arn:aws:logs:us-east-1:000000000000:log-group:cognito"}}]
    idp.set_log_delivery_configuration(UserPoolId=pool_id, LogConfigurations=config)
    got = idp.get_log_delivery_configuration(UserPoolId=pool_id)["LogDeliveryConfiguration"]
    assert got["LogConfigurations"] == config
    with pytest.raises(ClientError) as exc:
        idp.set_log_delivery_configuration(UserPoolId=pool_id, LogConfigurations=[
            {"LogLevel": "INFO", "EventSource": "userAuthEvents", "S3Configuration": {
                "BucketArn": "arn:aws:s3:::bucket"}}])
    assert error(exc) == ("FeatureUnavailableInTierException",
                          "Exporting user authentication events requires the PLUS feature plan.")


def test_tags(idp):
    pool = idp.create_user_pool(PoolName=unique("pool"), UserPoolTags={"a": "1"})["UserPool"]
    idp.tag_resource(ResourceArn=pool["Arn"], Tags={"b": "2"})
    assert idp.list_tags_for_resource(ResourceArn=pool["Arn"])["Tags"] == {"a": "1", "b": "2"}
    idp.untag_resource(ResourceArn=pool["Arn"], TagKeys=["a"])
    assert idp.list_tags_for_resource(ResourceArn=pool["Arn"])["Tags"] == {"b": "2"}
    assert idp.describe_user_pool(UserPoolId=pool["Id"])["UserPool"]["UserPoolTags"] == {"b": "2"}
    missing = "arn:aws:cognito-idp:us-east-1:000000000000:userpool/us-east-1_Nope12345"
    with pytest.raises(ClientError) as exc:
        idp.list_tags_for_resource(ResourceArn=missing)
    assert error(exc) == ("ResourceNotFoundException", "User pool us-east-1_Nope12345 does not exist.")


# -- MFA configuration ------------------------------------------------------------------------
def test_mfa_config(idp, pool_id):
    config = idp.get_user_pool_mfa_config(UserPoolId=pool_id)
    assert config["MfaConfiguration"] == "OFF"
    assert config["SoftwareTokenMfaConfiguration"] == {"Enabled": False}
    with pytest.raises(ClientError) as exc:
        idp.set_user_pool_mfa_config(UserPoolId=pool_id, MfaConfiguration="ON")
    assert error(exc) == ("InvalidParameterException", "At least one of [SmsMfaConfiguration] or "
                                                      "[SoftwareTokenMfaConfiguration] must be provided.")
    with pytest.raises(ClientError) as exc:
        idp.set_user_pool_mfa_config(UserPoolId=pool_id, MfaConfiguration="OPTIONAL",
                                     SoftwareTokenMfaConfiguration={"Enabled": False})
    assert error(exc) == ("InvalidParameterException", "Invalid MFA configuration given, can't disable all MFAs "
                                                      "with a required or optional configuration.")
    with pytest.raises(ClientError) as exc:
        idp.set_user_pool_mfa_config(UserPoolId=pool_id, MfaConfiguration="OFF",
                                     SoftwareTokenMfaConfiguration={"Enabled": True})
    assert error(exc) == ("InvalidParameterException", "Invalid MFA configuration given, can't turn off MFA and "
                                                      "configure an MFA together.")
    assert idp.get_user_pool_mfa_config(UserPoolId=pool_id)["MfaConfiguration"] == "OFF"
    with pytest.raises(ClientError) as exc:
        idp.set_user_pool_mfa_config(UserPoolId=pool_id, MfaConfiguration="ON", SmsMfaConfiguration={})
    assert error(exc) == ("InvalidParameterException",
                          "[SmsConfiguration] is a required member of [SoftwareTokenMfaConfiguration].")
    out = idp.set_user_pool_mfa_config(UserPoolId=pool_id, MfaConfiguration="OPTIONAL",
                                       SoftwareTokenMfaConfiguration={"Enabled": True})
    assert out["MfaConfiguration"] == "OPTIONAL" and out["SoftwareTokenMfaConfiguration"] == {"Enabled": True}
    assert idp.describe_user_pool(UserPoolId=pool_id)["UserPool"]["MfaConfiguration"] == "OPTIONAL"
    out = idp.set_user_pool_mfa_config(UserPoolId=pool_id, MfaConfiguration="ON", SmsMfaConfiguration={
        "SmsAuthenticationMessage": "Code {####}",
        "SmsConfiguration": {"SnsCallerArn": "arn:aws:iam::000000000000:role/sns"}},
        SoftwareTokenMfaConfiguration={"Enabled": True})
    assert out["SmsMfaConfiguration"]["SmsAuthenticationMessage"] == "Code {####}"
    assert idp.describe_user_pool(UserPoolId=pool_id)["UserPool"]["SmsAuthenticationMessage"] == "Code {####}"
    with pytest.raises(ClientError) as exc:
        idp.set_user_pool_mfa_config(UserPoolId=pool_id, MfaConfiguration="ON",
                                     EmailMfaConfiguration={"Message": "Code {####}", "Subject": "s"})
    assert error(exc) == ("InvalidParameterException", "Email MFA requires the user pool to send email with "
                                                      "Amazon SES (EmailSendingAccount DEVELOPER).")


# -- auth events --------------------------------------------------------------------------------
def test_auth_events_need_threat_protection(idp, pool_id):
    idp.admin_create_user(UserPoolId=pool_id, Username="ann", MessageAction="SUPPRESS")
    with pytest.raises(ClientError) as exc:
        idp.admin_list_user_auth_events(UserPoolId=pool_id, Username="ann")
    assert error(exc) == ("UserPoolAddOnNotEnabledException",
                          "Threat protection (advanced security features) is not enabled for this user pool.")
    idp.update_user_pool(UserPoolId=pool_id, UserPoolAddOns={"AdvancedSecurityMode": "AUDIT"})
    assert idp.admin_list_user_auth_events(UserPoolId=pool_id, Username="ann")["AuthEvents"] == []
    with pytest.raises(ClientError) as exc:
        idp.admin_update_auth_event_feedback(UserPoolId=pool_id, Username="ann", EventId="nope",
                                             FeedbackValue="Valid")
    assert error(exc) == ("ResourceNotFoundException", "Auth event not found.")
    with pytest.raises(ClientError) as exc:
        idp.admin_list_user_auth_events(UserPoolId=pool_id, Username="ghost")
    assert error(exc) == ("UserNotFoundException", "User does not exist.")


def test_resource_server_quota(idp, pool_id):
    for i in range(25):
        idp.create_resource_server(UserPoolId=pool_id, Identifier=f"api{i}", Name=f"API {i}")
    with pytest.raises(ClientError) as exc:
        idp.create_resource_server(UserPoolId=pool_id, Identifier="api25", Name="API 25")
    assert error(exc) == ("LimitExceededException",
                          f"User pool {pool_id} has reached its limit of 25 resource servers.")


def test_auth_event_feedback(idp, pool_id):
    idp.update_user_pool(UserPoolId=pool_id, UserPoolAddOns={"AdvancedSecurityMode": "AUDIT"})
    client_id = idp.create_user_pool_client(UserPoolId=pool_id, ClientName="c", ExplicitAuthFlows=[
        "ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])["UserPoolClient"]["ClientId"]
    idp.admin_create_user(UserPoolId=pool_id, Username="ann", MessageAction="SUPPRESS")
    idp.admin_set_user_password(UserPoolId=pool_id, Username="ann", Password="Passw0rd!x", Permanent=True)
    idp.admin_initiate_auth(UserPoolId=pool_id, ClientId=client_id, AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                            AuthParameters={"USERNAME": "ann", "PASSWORD": "Passw0rd!x"})
    event = idp.admin_list_user_auth_events(UserPoolId=pool_id, Username="ann")["AuthEvents"][0]
    assert "EventFeedback" not in event
    idp.admin_update_auth_event_feedback(UserPoolId=pool_id, Username="ann", EventId=event["EventId"],
                                         FeedbackValue="Invalid")
    event = idp.admin_list_user_auth_events(UserPoolId=pool_id, Username="ann")["AuthEvents"][0]
    assert (event["EventFeedback"]["FeedbackValue"], event["EventFeedback"]["Provider"]) == ("Invalid", "Admin")
    with pytest.raises(ClientError) as exc:
        idp.update_auth_event_feedback(UserPoolId=pool_id, Username="ann", EventId=event["EventId"],
                                       FeedbackToken="not-the-token", FeedbackValue="Valid")
    assert error(exc) == ("NotAuthorizedException", "Invalid feedback token.")
    with pytest.raises(ClientError) as exc:
        idp.update_auth_event_feedback(UserPoolId=pool_id, Username="ann", EventId="nope",
                                       FeedbackToken="not-the-token", FeedbackValue="Valid")
    assert error(exc) == ("ResourceNotFoundException", "Auth event not found.")


def test_log_delivery_configuration_rules(idp, pool_id):
    cloudwatch = {"LogGroupArn": "arn:aws:logs:us-east-1:000000000000:log-group:g"}
    s3 = {"BucketArn": "arn:aws:s3:::bucket"}
    cases = [
        ([{"EventSource": "userNotification", "LogLevel": "ERROR", "CloudWatchLogsConfiguration": cloudwatch},
          {"EventSource": "userNotification", "LogLevel": "ERROR", "CloudWatchLogsConfiguration": cloudwatch}],
         "Only one log configuration is allowed per event source."),
        ([{"EventSource": "userNotification", "LogLevel": "ERROR"}],
         "Each log configuration must have exactly one destination."),
        ([{"EventSource": "userNotification", "LogLevel": "ERROR", "CloudWatchLogsConfiguration": cloudwatch,
           "S3Configuration": s3}],
         "Each log configuration must have exactly one destination."),
        ([{"EventSource": "userNotification", "LogLevel": "INFO", "CloudWatchLogsConfiguration": cloudwatch}],
         "userNotification logs support only the ERROR log level."),
        ([{"EventSource": "userNotification", "LogLevel": "ERROR", "S3Configuration": s3}],
         "userNotification logs can only be delivered to CloudWatch Logs."),
        ([{"EventSource": "userAuthEvents", "LogLevel": "ERROR", "S3Configuration": s3}],
         "userAuthEvents logs support only the INFO log level."),
    ]
    for configs, message in cases:
        with pytest.raises(ClientError) as exc:
            idp.set_log_delivery_configuration(UserPoolId=pool_id, LogConfigurations=configs)
        assert error(exc) == ("InvalidParameterException", message), configs


def test_identity_provider_configuration_rules(idp, pool_id):
    oidc = {"client_id": "cid", "client_secret": "cs", "authorize_scopes": "openid",
            "oidc_issuer": "https://issuer.example.com", "attributes_request_method": "GET"}
    cases = [
        (dict(ProviderType="SAML", ProviderDetails={"MetadataURL": "https://idp.example.com/md",
                                                    "MetadataFile": "<x/>"}),
         "Only one of MetadataURL and MetadataFile can be specified."),
        (dict(ProviderType="OIDC", ProviderDetails={**oidc, "attributes_request_method": "PUT"}),
         "attributes_request_method must be GET or POST."),
        (dict(ProviderType="OIDC", ProviderDetails={**oidc, "oidc_issuer": "http://issuer.example.com"}),
         "oidc_issuer must be an https URL."),
        (dict(ProviderType="OIDC", ProviderDetails=oidc, AttributeMapping={"custom:nope": "x"}),
         "Attribute mapping custom:nope does not exist in the user pool schema."),
        (dict(ProviderType="OIDC", ProviderDetails=oidc, AttributeMapping={"sub": "sub"}),
         "sub attribute cannot be mapped."),
        (dict(ProviderType="OIDC", ProviderDetails=oidc, IdpIdentifiers=["corp", "corp"]),
         "Duplicate IdpIdentifiers are not allowed."),
    ]
    for kwargs, message in cases:
        with pytest.raises(ClientError) as exc:
            idp.create_identity_provider(UserPoolId=pool_id, ProviderName="Corp", **kwargs)
        assert error(exc) == ("InvalidParameterException", message), kwargs


def test_domain_update_rules(idp, pool_id):
    prefix = unique("dom").lower()
    idp.create_user_pool_domain(UserPoolId=pool_id, Domain=prefix)
    with pytest.raises(ClientError) as exc:
        idp.update_user_pool_domain(UserPoolId=pool_id, Domain=prefix, CustomDomainConfig={
            "CertificateArn": "arn:aws:acm:us-east-1:000000000000:certificate/abc"})
    assert error(exc) == ("InvalidParameterException", "CustomDomainConfig can only be updated for a custom domain.")
    with pytest.raises(ClientError) as exc:
        idp.update_user_pool_domain(UserPoolId=pool_id, Domain=prefix, ManagedLoginVersion=3)
    assert error(exc) == ("InvalidParameterException", "ManagedLoginVersion must be 1 or 2.")
    idp.update_user_pool_domain(UserPoolId=pool_id, Domain=prefix, ManagedLoginVersion=2)
    assert idp.describe_user_pool_domain(Domain=prefix)["DomainDescription"]["ManagedLoginVersion"] == 2


def test_resource_server_duplicate_scope(idp, pool_id):
    with pytest.raises(ClientError) as exc:
        idp.create_resource_server(UserPoolId=pool_id, Identifier="api", Name="API", Scopes=[
            {"ScopeName": "read", "ScopeDescription": "r"}, {"ScopeName": "read", "ScopeDescription": "again"}])
    assert error(exc) == ("InvalidParameterException", "Duplicate scope name read in resource server.")


def test_user_pool_tag_quota(idp, pool_id):
    arn = idp.describe_user_pool(UserPoolId=pool_id)["UserPool"]["Arn"]
    idp.tag_resource(ResourceArn=arn, Tags={f"k{i}": "v" for i in range(50)})
    with pytest.raises(ClientError) as exc:
        idp.tag_resource(ResourceArn=arn, Tags={"k50": "v"})
    assert error(exc) == ("LimitExceededException", "A resource can have at most 50 tags.")
