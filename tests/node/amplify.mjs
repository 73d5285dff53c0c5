// aws-amplify v6 against the emulator: signUp, confirmSignUp with the code from the outbox,
// signIn (SRP), TOTP setup and TOTP sign-in, fetchAuthSession, signOut.
// Env: ENDPOINT, POOL_ID, CLIENT_ID, USERNAME, PASSWORD, EMAIL. Prints one JSON object.
import { createHmac } from "node:crypto";
import { Amplify } from "aws-amplify";
import {
  confirmSignIn, confirmSignUp, fetchAuthSession, getCurrentUser, setUpTOTP, signIn, signOut, signUp,
  updateMFAPreference, verifyTOTPSetup,
} from "aws-amplify/auth";
import { err, outboxCode, serverNow } from "./emulator.mjs";

const env = process.env;
Amplify.configure({ Auth: { Cognito: { userPoolId: env.POOL_ID, userPoolClientId: env.CLIENT_ID,
                                       userPoolEndpoint: env.ENDPOINT } } });

function base32(text) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const ch of text.replace(/=+$/, "")) bits += alphabet.indexOf(ch).toString(2).padStart(5, "0");
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

// RFC 6238: HMAC-SHA1, 30-second steps, 6 digits.
function totp(secret, seconds) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(seconds / 30)));
  const mac = createHmac("sha1", base32(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const value = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(value).padStart(6, "0");
}

const out = {};
try {
  const up = await signUp({ username: env.USERNAME, password: env.PASSWORD,
                            options: { userAttributes: { email: env.EMAIL } } });
  out.signUp = { isSignUpComplete: up.isSignUpComplete, nextStep: up.nextStep.signUpStep,
                 medium: up.nextStep.codeDeliveryDetails?.deliveryMedium ?? null };
  const code = await outboxCode(env.ENDPOINT, env.POOL_ID);
  const confirmed = await confirmSignUp({ username: env.USERNAME, confirmationCode: code });
  out.confirmSignUp = { isSignUpComplete: confirmed.isSignUpComplete };

  try {
    await signIn({ username: env.USERNAME, password: env.PASSWORD + "x" });
    out.wrongPassword = { ok: true };
  } catch (e) {
    out.wrongPassword = err(e);
  }

  const first = await signIn({ username: env.USERNAME, password: env.PASSWORD });
  out.signIn = { isSignedIn: first.isSignedIn, nextStep: first.nextStep.signInStep };
  const current = await getCurrentUser();
  out.currentUser = current.username;

  const setup = await setUpTOTP();
  const secret = setup.sharedSecret;
  out.setupUri = setup.getSetupUri("emulator").toString().startsWith("otpauth://totp/");
  const now = await serverNow(env.ENDPOINT);
  await verifyTOTPSetup({ code: totp(secret, now) });
  await updateMFAPreference({ totp: "PREFERRED" });
  out.totpSetup = "SUCCESS";
  await signOut();

  const second = await signIn({ username: env.USERNAME, password: env.PASSWORD });
  out.totpChallenge = second.nextStep.signInStep;
  // the current step's code was used by verifyTOTPSetup; the next step is within the window
  const done = await confirmSignIn({ challengeResponse: totp(secret, (await serverNow(env.ENDPOINT)) + 30) });
  out.totpSignIn = { isSignedIn: done.isSignedIn, nextStep: done.nextStep.signInStep };

  const session = await fetchAuthSession();
  const access = session.tokens?.accessToken?.payload ?? {};
  const id = session.tokens?.idToken?.payload ?? {};
  out.session = { tokenUse: access.token_use, username: access.username, idUse: id.token_use,
                  email: id.email, iss: access.iss };
  await signOut();
  const after = await fetchAuthSession();
  out.signedOut = after.tokens === undefined;
} catch (e) {
  out.error = err(e);
  out.stack = String(e.stack || "");
}
console.log(JSON.stringify(out));
