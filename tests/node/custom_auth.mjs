// amazon-cognito-identity-js CUSTOM_AUTH against the emulator: initiateAuth + sendCustomChallengeAnswer
// (a wrong answer, then the right one), and authenticateUser with the CUSTOM_AUTH flow type (SRP_A
// first, then the custom challenge). The challenge asks for "2 + N" where N is the round number.
// Env: ENDPOINT, POOL_ID, CLIENT_ID, USERNAME, PASSWORD. Prints one JSON object.
import pkg from "amazon-cognito-identity-js";
import { newUser } from "./identity_js_pool.mjs";

const { AuthenticationDetails } = pkg;
const env = process.env;

// Resolves with {challenge} on a custom challenge, {session} on success.
const handlers = (resolve, reject) => ({
  onSuccess: (session) => resolve({ session }),
  onFailure: reject,
  customChallenge: (challenge) => resolve({ challenge }),
  mfaRequired: () => reject(new Error("unexpected mfaRequired")),
  newPasswordRequired: () => reject(new Error("unexpected newPasswordRequired")),
});
const answer = (user, value, meta) =>
  new Promise((resolve, reject) => user.sendCustomChallengeAnswer(value, handlers(resolve, reject), meta));
const expected = (challenge) => String(eval(challenge.question.replace(" = ?", "")));  // "2 + 1 = ?"

const out = {};
try {
  // Passwordless custom auth.
  let user = newUser();
  let step = await new Promise((resolve, reject) =>
    user.initiateAuth(new AuthenticationDetails({ Username: env.USERNAME }), handlers(resolve, reject)));
  out.firstChallenge = step.challenge;
  step = await answer(user, "999", { from: "node" });
  out.afterWrong = step.challenge;
  step = await answer(user, expected(step.challenge), { from: "node" });
  const payload = step.session.getIdToken().decodePayload();
  out.custom = { username: payload["cognito:username"], valid: step.session.isValid() };

  // A third wrong answer in a row fails the sign-in.
  user = newUser();
  step = await new Promise((resolve, reject) =>
    user.initiateAuth(new AuthenticationDetails({ Username: env.USERNAME }), handlers(resolve, reject)));
  try {
    for (let i = 0; i < 3; i++) step = await answer(user, "999");
    out.failure = { ok: true };
  } catch (e) {
    out.failure = { code: e.code || e.name, message: e.message };
  }

  // Custom auth with SRP first: the password is proved before the custom challenge.
  user = newUser();
  user.setAuthenticationFlowType("CUSTOM_AUTH");
  step = await new Promise((resolve, reject) =>
    user.authenticateUser(new AuthenticationDetails({ Username: env.USERNAME, Password: env.PASSWORD }),
                          handlers(resolve, reject)));
  out.srpChallenge = step.challenge;
  step = await answer(user, expected(step.challenge));
  out.srp = { valid: step.session.isValid(),
              tokenUse: step.session.getAccessToken().decodePayload().token_use };
} catch (e) {
  out.error = { code: e.code || e.name, message: e.message, stack: e.stack };
}
console.log(JSON.stringify(out));
