// What the node scripts ask of the emulator's own endpoints (outbox, clock), and how they report errors.

// The code of the newest message in the pool's outbox, or null when there is none.
export async function outboxCode(endpoint, poolId) {
  const q = new URLSearchParams({ pool_id: poolId, limit: "1" });
  const r = await fetch(`${endpoint}/_emulator/messages?${q}`);
  const found = (await r.json()).messages;
  return found.length ? found[0].code : null;
}

// The emulator clock, in epoch seconds.
export async function serverNow(endpoint) {
  const r = await fetch(`${endpoint}/_emulator/clock`);
  return (await r.json()).epoch;
}

export const err = (e) => ({ name: e.name, message: e.message });
