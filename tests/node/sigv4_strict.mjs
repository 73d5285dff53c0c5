// AWS SDK for JavaScript v3 against an emulator that verifies SigV4 signatures (--verify-signatures):
// ListUserPools with each set of credentials in CREDENTIALS (JSON [[accessKeyId, secret], ...]).
// Prints one JSON line: for each, {ok} or the typed error's {name, message, status}.
// Run by tests/test_sigv4_strict.py with ENDPOINT set.
import {
  CognitoIdentityProviderClient, CreateUserPoolCommand, ListUserPoolsCommand,
} from "@aws-sdk/client-cognito-identity-provider";

const results = [];
try {
  for (const [accessKeyId, secretAccessKey] of JSON.parse(process.env.CREDENTIALS)) {
    const client = new CognitoIdentityProviderClient({
      endpoint: process.env.ENDPOINT, region: "us-east-1", maxAttempts: 1,
      credentials: { accessKeyId, secretAccessKey },
    });
    try {
      if (process.env.POOL_NAME) {
        await client.send(new CreateUserPoolCommand({ PoolName: `${process.env.POOL_NAME}-${results.length}` }));
      }
      const out = await client.send(new ListUserPoolsCommand({ MaxResults: 60 }));
      results.push({ ok: true, pools: out.UserPools.length });
    } catch (e) {
      results.push({ name: e.name, message: e.message, status: e.$metadata?.httpStatusCode });
    }
  }
  console.log(JSON.stringify({ results }));
} catch (e) {
  console.log(JSON.stringify({ error: String(e), stack: e.stack }));
}
