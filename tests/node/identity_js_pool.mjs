// What the amazon-cognito-identity-js scripts share: the pool of env POOL_ID / CLIENT_ID at ENDPOINT,
// and newUser() for env USERNAME, with tokens and device keys kept in memory (Node has no localStorage).
import pkg from "amazon-cognito-identity-js";

const { CognitoUser, CognitoUserPool } = pkg;
const env = process.env;

class MemoryStorage {
  constructor() { this.items = {}; }
  setItem(k, v) { this.items[k] = String(v); return this.items[k]; }
  getItem(k) { return Object.prototype.hasOwnProperty.call(this.items, k) ? this.items[k] : null; }
  removeItem(k) { delete this.items[k]; }
  clear() { this.items = {}; }
}

const storage = new MemoryStorage();
const pool = new CognitoUserPool({ UserPoolId: env.POOL_ID, ClientId: env.CLIENT_ID, endpoint: env.ENDPOINT,
                                   Storage: storage });
export const newUser = () => new CognitoUser({ Username: env.USERNAME, Pool: pool, Storage: storage });
