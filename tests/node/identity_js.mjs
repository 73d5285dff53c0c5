// amazon-cognito-identity-js against the emulator: SRP sign-in, wrong password, refresh,
// changePassword, remembered device (device SRP), globalSignOut then GetUser refused.
// Env: ENDPOINT, POOL_ID, CLIENT_ID, USERNAME, PASSWORD, NEW_PASSWORD. Prints one JSON object.
import pkg from "amazon-cognito-identity-js";
import { newUser } from "./identity_js_pool.mjs";

const { AuthenticationDetails } = pkg;
const env = process.env;
const err = (e) => ({ code: e.code || e.name, message: e.message });

function signIn(user, password) {
  return new Promise((resolve, reject) => {
    user.authenticateUser(new AuthenticationDetails({ Username: env.USERNAME, Password: password }), {
      onSuccess: (session, userConfirmationNecessary) => resolve({ session, userConfirmationNecessary }),
      onFailure: reject,
      mfaRequired: () => reject(new Error("unexpected mfaRequired")),
      totpRequired: () => reject(new Error("unexpected totpRequired")),
      newPasswordRequired: () => reject(new Error("unexpected newPasswordRequired")),
    });
  });
}

const call = (fn) => new Promise((resolve, reject) => fn((e, r) => (e ? reject(e) : resolve(r))));
const cb = (fn) => new Promise((resolve, reject) => fn({ onSuccess: resolve, onFailure: reject }));

const out = {};
try {
  // wrong password first (a fresh user object without cached device)
  try {
    await signIn(newUser(), env.PASSWORD + "x");
    out.wrongPassword = { ok: true };
  } catch (e) {
    out.wrongPassword = err(e);
  }

  let user = newUser();
  const first = await signIn(user, env.PASSWORD);
  const idPayload = first.session.getIdToken().decodePayload();
  out.signIn = { username: idPayload["cognito:username"], tokenUse: idPayload.token_use,
                 valid: first.session.isValid(), userConfirmationNecessary: first.userConfirmationNecessary ?? null };

  const device = user.getCachedDeviceKeyAndPassword ? (user.getCachedDeviceKeyAndPassword(), user.deviceKey) : null;
  out.deviceKey = device || null;
  if (device) {
    await cb((h) => user.setDeviceStatusRemembered(h));
    const listed = await cb((h) => user.listDevices(10, null, h));
    out.devices = listed.Devices.map((d) => d.DeviceKey);
  }

  const refreshed = await call((done) => user.refreshSession(first.session.getRefreshToken(), done));
  out.refresh = { changed: refreshed.getAccessToken().getJwtToken() !== first.session.getAccessToken().getJwtToken(),
                  authTime: refreshed.getIdToken().decodePayload().auth_time === idPayload.auth_time };

  await call((done) => user.changePassword(env.PASSWORD, env.NEW_PASSWORD, done));
  out.changePassword = "SUCCESS";

  // signing in again with the remembered device goes through DEVICE_SRP_AUTH
  user = newUser();
  const second = await signIn(user, env.NEW_PASSWORD);
  out.secondSignIn = { valid: second.session.isValid(),
                       deviceKey: second.session.getAccessToken().decodePayload().device_key || null };

  const accessToken = second.session.getAccessToken().getJwtToken();
  await cb((h) => user.globalSignOut(h));
  try {
    await call((done) => user.client.request("GetUser", { AccessToken: accessToken }, done));
    out.afterGlobalSignOut = { ok: true };
  } catch (e) {
    out.afterGlobalSignOut = err(e);
  }
} catch (e) {
  out.error = err(e);
  out.stack = String(e.stack || "");
}
console.log(JSON.stringify(out));
