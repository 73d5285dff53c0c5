"""User import jobs: GetCSVHeader, the pre-signed upload, Start/Describe/List/Stop."""

from __future__ import annotations

import csv
import io

import pytest
import requests
from botocore.exceptions import ClientError
from helpers import error, unique

ROLE = "arn:aws:iam::000000000000:role/CognitoImport"


@pytest.fixture
def pool_id(idp):
    return idp.create_user_pool(PoolName=unique("pool"), AutoVerifiedAttributes=["email"],
                                Schema=[{"Name": "tier", "AttributeDataType": "String", "Mutable": True}])[
        "UserPool"]["Id"]


def build_csv(header: list[str], rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header)
    writer.writeheader()
    for row in rows:
        writer.writerow({h: row.get(h, "") for h in header})
    return out.getvalue()


def upload(url: str, text: str) -> requests.Response:
    return requests.put(url, data=text.encode(), headers={"Content-Type": "text/csv",
                                                          "x-amz-server-side-encryption": "aws:kms"}, timeout=60)


def test_csv_header(idp, pool_id):
    out = idp.get_csv_header(UserPoolId=pool_id)
    assert out["UserPoolId"] == pool_id
    assert out["CSVHeader"] == [
        "cognito:username", "name", "given_name", "family_name", "middle_name", "nickname", "preferred_username",
        "profile", "picture", "website", "email", "email_verified", "gender", "birthdate", "zoneinfo", "locale",
        "phone_number", "phone_number_verified", "address", "updated_at", "cognito:mfa_enabled", "custom:tier"]
    with pytest.raises(ClientError) as exc:
        idp.get_csv_header(UserPoolId="us-east-1_nopenope1")
    assert error(exc) == ("ResourceNotFoundException", "User pool us-east-1_nopenope1 does not exist.")


def test_import_1000_users(idp, pool_id, outbox):
    header = idp.get_csv_header(UserPoolId=pool_id)["CSVHeader"]
    job = idp.create_user_import_job(UserPoolId=pool_id, JobName="bulk", CloudWatchLogsRoleArn=ROLE)["UserImportJob"]
    assert job["Status"] == "Created" and job["JobId"].startswith("import-")
    assert job["PreSignedUrl"].startswith("http")
    rows = [{"cognito:username": f"imp{i:04d}", "email": f"imp{i}@example.com", "email_verified": "true",
             "given_name": f"G{i}", "custom:tier": "gold" if i % 2 else "silver", "cognito:mfa_enabled": "false"}
            for i in range(1000)]
    rows.append({"cognito:username": "imp0001", "email": "dup@example.com", "cognito:mfa_enabled": "false"})
    rows.append({"cognito:username": "bad name", "cognito:mfa_enabled": "false"})
    rows.append({"cognito:username": "badmail", "email": "not-an-email", "cognito:mfa_enabled": "false"})
    assert upload(job["PreSignedUrl"], build_csv(header, rows)).status_code == 200
    started = idp.start_user_import_job(UserPoolId=pool_id, JobId=job["JobId"])["UserImportJob"]
    assert started["Status"] in ("Pending", "InProgress", "Succeeded")
    done = idp.describe_user_import_job(UserPoolId=pool_id, JobId=job["JobId"])["UserImportJob"]
    assert done["Status"] == "Succeeded"
    assert (done["ImportedUsers"], done["FailedUsers"], done["SkippedUsers"]) == (1000, 3, 0)
    assert done["CompletionMessage"]
    assert "StartDate" in done and "CompletionDate" in done
    user = idp.admin_get_user(UserPoolId=pool_id, Username="imp0999")
    assert user["UserStatus"] == "RESET_REQUIRED"
    attrs = {a["Name"]: a["Value"] for a in user["UserAttributes"]}
    assert attrs["custom:tier"] == "gold"
    assert attrs["email_verified"] == "true"
    assert len(idp.list_users(UserPoolId=pool_id, Filter='email ^= "imp99"')["Users"]) == 11
    # Imported users recover their account by ForgotPassword.
    client_id = idp.create_user_pool_client(UserPoolId=pool_id, ClientName="c")["UserPoolClient"]["ClientId"]
    idp.forgot_password(ClientId=client_id, Username="imp0005")
    idp.confirm_forgot_password(ClientId=client_id, Username="imp0005", Password="Passw0rd!",
                                ConfirmationCode=outbox.last_code(username="imp0005"))
    assert idp.admin_get_user(UserPoolId=pool_id, Username="imp0005")["UserStatus"] == "CONFIRMED"


def test_bad_header_fails_the_job(idp, pool_id):
    job = idp.create_user_import_job(UserPoolId=pool_id, JobName="bad", CloudWatchLogsRoleArn=ROLE)["UserImportJob"]
    upload(job["PreSignedUrl"], "cognito:username,email\nx,x@example.com\n")
    idp.start_user_import_job(UserPoolId=pool_id, JobId=job["JobId"])
    done = idp.describe_user_import_job(UserPoolId=pool_id, JobId=job["JobId"])["UserImportJob"]
    assert done["Status"] == "Failed"
    assert done["ImportedUsers"] == 0 and "header" in done["CompletionMessage"]


def test_upload_needs_the_signature(idp, pool_id):
    job = idp.create_user_import_job(UserPoolId=pool_id, JobName="sig", CloudWatchLogsRoleArn=ROLE)["UserImportJob"]
    tampered = job["PreSignedUrl"].split("X-Amz-Signature=")[0] + "X-Amz-Signature=wrong"
    assert upload(tampered, "x").status_code == 403
    assert upload(tampered.replace("=wrong", "=%C3%A9"), "x").status_code == 403


def test_upload_refused_once_the_job_expired(idp, pool_id, clock):
    job = idp.create_user_import_job(UserPoolId=pool_id, JobName="late", CloudWatchLogsRoleArn=ROLE)["UserImportJob"]
    clock.advance(24 * 3600 + 1)
    response = upload(job["PreSignedUrl"], "x")
    assert response.status_code == 403
    assert response.json() == {"__type": "AccessDenied", "message": "The import job is no longer accepting a CSV file."}
    assert idp.describe_user_import_job(UserPoolId=pool_id, JobId=job["JobId"])["UserImportJob"]["Status"] == "Expired"


def test_start_without_upload_and_state_errors(idp, pool_id):
    job = idp.create_user_import_job(UserPoolId=pool_id, JobName="empty", CloudWatchLogsRoleArn=ROLE)["UserImportJob"]
    with pytest.raises(ClientError) as exc:
        idp.start_user_import_job(UserPoolId=pool_id, JobId=job["JobId"])
    assert error(exc) == ("PreconditionNotMetException",
                          "The CSV file has not been uploaded to the pre-signed URL of the import job.")
    stopped = idp.stop_user_import_job(UserPoolId=pool_id, JobId=job["JobId"])["UserImportJob"]
    assert stopped["Status"] == "Stopped"
    with pytest.raises(ClientError) as exc:
        idp.stop_user_import_job(UserPoolId=pool_id, JobId=job["JobId"])
    assert error(exc) == ("InvalidParameterException", f"Import job {job['JobId']} cannot be stopped in status Stopped.")
    with pytest.raises(ClientError) as exc:
        idp.start_user_import_job(UserPoolId=pool_id, JobId=job["JobId"])
    assert error(exc) == ("InvalidParameterException", f"Import job {job['JobId']} cannot be started in status Stopped.")
    with pytest.raises(ClientError) as exc:
        idp.describe_user_import_job(UserPoolId=pool_id, JobId="import-doesnotexist")
    assert error(exc) == ("ResourceNotFoundException", "Import job import-doesnotexist does not exist.")


def test_job_expires_when_never_started(idp, pool_id, clock):
    job = idp.create_user_import_job(UserPoolId=pool_id, JobName="late", CloudWatchLogsRoleArn=ROLE)["UserImportJob"]
    clock.advance(24 * 3600 + 1)
    assert idp.describe_user_import_job(UserPoolId=pool_id, JobId=job["JobId"])["UserImportJob"]["Status"] == "Expired"


def test_list_import_jobs(idp, pool_id):
    ids = [idp.create_user_import_job(UserPoolId=pool_id, JobName=f"j{i}", CloudWatchLogsRoleArn=ROLE)[
        "UserImportJob"]["JobId"] for i in range(5)]
    first = idp.list_user_import_jobs(UserPoolId=pool_id, MaxResults=3)
    assert [j["JobId"] for j in first["UserImportJobs"]] == ids[:3]
    second = idp.list_user_import_jobs(UserPoolId=pool_id, MaxResults=3, PaginationToken=first["PaginationToken"])
    assert [j["JobId"] for j in second["UserImportJobs"]] == ids[3:]
    assert "PaginationToken" not in second
    with pytest.raises(ClientError) as exc:
        idp.list_user_import_jobs(UserPoolId=pool_id, MaxResults=3, PaginationToken="zzz")
    assert error(exc) == ("InvalidParameterException", "Invalid pagination token.")


@pytest.mark.parametrize("text", [
    "a,b\nc,d\n",
    "a,b\r\nc,d\r\n",
    "a,b\nc,d",  # no newline at the end
    'a,"multi\nline"\r\nc,d\n',  # a quoted field across lines
    "",
    "\n\n",
])
def test_the_csv_is_read_by_lines_as_a_stringio_would_give_them(text):
    from emulator.userpools.ops.import_jobs import _lines

    assert list(_lines(text)) == list(io.StringIO(text))
    assert list(csv.reader(_lines(text))) == list(csv.reader(io.StringIO(text)))


@pytest.mark.parametrize("case_sensitive, imported", [(False, 2), (True, 3)])
def test_an_email_the_file_gave_before_fails_in_an_email_as_username_pool(idp, case_sensitive, imported):
    pool = idp.create_user_pool(PoolName=unique("pool"), UsernameAttributes=["email"],
                                UsernameConfiguration={"CaseSensitive": case_sensitive})["UserPool"]["Id"]
    header = idp.get_csv_header(UserPoolId=pool)["CSVHeader"]
    rows = [{"cognito:username": name, "email_verified": "true", "cognito:mfa_enabled": "false"}
            for name in ("ann@example.com", "bob@example.com", "ann@example.com", "Bob@Example.com")]
    job = idp.create_user_import_job(UserPoolId=pool, JobName="dups", CloudWatchLogsRoleArn=ROLE)["UserImportJob"]
    assert upload(job["PreSignedUrl"], build_csv(header, rows)).status_code == 200
    idp.start_user_import_job(UserPoolId=pool, JobId=job["JobId"])
    done = idp.describe_user_import_job(UserPoolId=pool, JobId=job["JobId"])["UserImportJob"]
    assert (done["ImportedUsers"], done["FailedUsers"]) == (imported, 4 - imported)
    emails = sorted(a["Value"] for u in idp.list_users(UserPoolId=pool)["Users"]
                    for a in u["Attributes"] if a["Name"] == "email")
    assert emails == sorted({"ann@example.com", "bob@example.com", *(["Bob@Example.com"] if case_sensitive else [])})
