// AWS SDK for JavaScript v3 (@aws-sdk/client-cognito-identity-provider) against the emulator:
// create a pool and a client, list them, describe, and read a typed service error.
// Prints one JSON line; run by tests/test_cli_and_sdk_v3.py with ENDPOINT set.
import {
  CognitoIdentityProviderClient, CreateUserPoolCommand, CreateUserPoolClientCommand, ListUserPoolsCommand,
  ListUserPoolClientsCommand, DescribeUserPoolClientCommand, CreateGroupCommand, ListGroupsCommand,
  DescribeUserPoolCommand, DeleteUserPoolCommand, ResourceNotFoundException,
} from "@aws-sdk/client-cognito-identity-provider";

const client = new CognitoIdentityProviderClient({
  endpoint: process.env.ENDPOINT, region: "us-east-1",
  credentials: { accessKeyId: "AKIAEMULATORTEST", secretAccessKey: "secret" },
});

try {
  const pool = (await client.send(new CreateUserPoolCommand({ PoolName: process.env.POOL_NAME }))).UserPool;
  const app = (await client.send(new CreateUserPoolClientCommand({
    UserPoolId: pool.Id, ClientName: "web", GenerateSecret: true }))).UserPoolClient;
  const pools = [];
  let token;
  do {
    const page = await client.send(new ListUserPoolsCommand({ MaxResults: 60, NextToken: token }));
    pools.push(...page.UserPools.map((p) => p.Id));
    token = page.NextToken;
  } while (token);
  const clients = (await client.send(new ListUserPoolClientsCommand({ UserPoolId: pool.Id }))).UserPoolClients;
  const described = (await client.send(new DescribeUserPoolClientCommand({
    UserPoolId: pool.Id, ClientId: app.ClientId }))).UserPoolClient;
  await client.send(new CreateGroupCommand({ UserPoolId: pool.Id, GroupName: "admins", Precedence: 1 }));
  const groups = (await client.send(new ListGroupsCommand({ UserPoolId: pool.Id }))).Groups;
  let error = null;
  try {
    await client.send(new DescribeUserPoolCommand({ UserPoolId: "us-east-1_Nope12345" }));
  } catch (e) {
    error = { name: e.name, typed: e instanceof ResourceNotFoundException, message: e.message,
              status: e.$metadata.httpStatusCode };
  }
  await client.send(new DeleteUserPoolCommand({ UserPoolId: pool.Id }));
  console.log(JSON.stringify({
    pool: { id: pool.Id, name: pool.Name, creationDateIsDate: pool.CreationDate instanceof Date,
            schemaAttributes: pool.SchemaAttributes.length },
    client: { id: app.ClientId, secretLength: app.ClientSecret.length, units: app.TokenValidityUnits,
              revocation: app.EnableTokenRevocation, authSessionValidity: app.AuthSessionValidity },
    listed: pools.includes(pool.Id),
    clients: clients.map((c) => c.ClientId),
    describedSecretMatches: described.ClientSecret === app.ClientSecret,
    groups: groups.map((g) => [g.GroupName, g.Precedence]),
    error,
  }));
} catch (e) {
  console.log(JSON.stringify({ error: `${e.name}: ${e.message}` }));
}
