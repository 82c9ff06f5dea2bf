// A PLC's side of Vigil's OPC UA handshake, with node-opcua (a real, independent OPC UA stack).
// Usage: node opcua-plc.js ENDPOINT CAMERA USER PASSWORD SCENARIO
// Prints one JSON object with what it saw; the Java test asserts on it.
const {
  OPCUAClient, MessageSecurityMode, SecurityPolicy, AttributeIds, DataType, UserTokenType,
} = require("node-opcua-client");

const [endpoint, camera, user, password, scenario] = process.argv.slice(2);
const ns = "urn:vigil:plc";
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function connect(identity, secure) {
  const client = OPCUAClient.create({
    endpointMustExist: false,
    securityMode: secure ? MessageSecurityMode.SignAndEncrypt : MessageSecurityMode.None,
    securityPolicy: secure ? SecurityPolicy.Basic256Sha256 : SecurityPolicy.None,
    connectionStrategy: { maxRetry: secure ? 0 : 1, initialDelay: 200, maxDelay: 500 },
  });
  await client.connect(endpoint);
  try {
    const session = await client.createSession(identity);
    return { client, session };
  } catch (e) {
    await client.disconnect();
    throw e;
  }
}

async function main() {
  const out = {};
  if (scenario === "secure") {
    // the signed and encrypted endpoint: this client's certificate must be in the server's trust list
    try {
      const c = await connect({ type: UserTokenType.UserName, userName: user, password }, true);
      const ns2 = (await c.session.readNamespaceArray()).indexOf(ns);
      out.ready = (await c.session.read({ nodeId: `ns=${ns2};s=Vigil/${camera}/Ready`,
        attributeId: AttributeIds.Value })).value.value;
      await c.session.close();
      await c.client.disconnect();
      out.secure = "accepted";
    } catch (e) {
      out.secure = "refused: " + String(e && e.message || e).split("\n")[0];
    }
    console.log(JSON.stringify(out));
    return;
  }
  if (scenario === "signin") {
    try {
      const c = await connect({ type: UserTokenType.UserName, userName: user, password });
      await c.session.close();
      await c.client.disconnect();
      out.signin = "accepted";
    } catch (e) {
      out.signin = "refused";
    }
    console.log(JSON.stringify(out));
    return;
  }
  // anonymous must be refused
  try {
    const a = await connect({ type: UserTokenType.Anonymous });
    out.anonymous = "accepted";
    await a.session.close();
    await a.client.disconnect();
  } catch (e) {
    out.anonymous = "refused: " + e.message.split("\n")[0];
  }
  // a wrong password too
  try {
    const w = await connect({ type: UserTokenType.UserName, userName: user, password: password + "x" });
    out.wrongPassword = "accepted";
    await w.session.close();
    await w.client.disconnect();
  } catch (e) {
    out.wrongPassword = "refused";
  }
  const { client, session } = await connect({ type: UserTokenType.UserName, userName: user, password });
  const nsIndex = (await session.readNamespaceArray()).indexOf(ns);
  const id = (name) => `ns=${nsIndex};s=Vigil/${camera}/${name}`;
  const read = async (name) => (await session.read({ nodeId: id(name), attributeId: AttributeIds.Value })).value.value;
  const write = async (name, dataType, value) =>
    (await session.write({ nodeId: id(name), attributeId: AttributeIds.Value,
      value: { value: { dataType, value } } })).name;
  const waitFor = async (name, value, ms) => {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      if ((await read(name)) === value) return true;
      await sleep(5);
    }
    return false;
  };
  out.readyBefore = await read("Ready");
  out.writeLot = await write("Lot", DataType.String, "LOT-7");
  out.writeTrigger = await write("Trigger", DataType.Boolean, true);
  const t0 = Date.now();
  out.resultReady = await waitFor("ResultReady", true, 20000);
  out.latencyMs = Date.now() - t0;
  for (const n of ["Ok", "Ng", "ClassIndex", "ClassLabel", "Score", "PartSequence", "ErrorCode", "Ready", "Busy",
    "Lot", "Counters/Triggers"]) {
    const v = await read(n);
    out[n] = typeof v === "object" && v !== null ? Number(v) : v;
  }
  await write("Trigger", DataType.Boolean, false);
  out.triggerWhileNotReady = await write("Trigger", DataType.Boolean, true);
  await write("Trigger", DataType.Boolean, false);
  out.writeAck = await write("ResultAck", DataType.Boolean, true);
  out.readyAfterAck = await waitFor("Ready", true, 5000);
  await write("ResultAck", DataType.Boolean, false);
  // bad input: read-only node, wrong type, lot too long, unknown node
  out.writeReadOnly = await write("Ready", DataType.Boolean, true);
  out.writeWrongType = await write("Trigger", DataType.String, "yes");
  out.writeLongLot = await write("Lot", DataType.String, "L".repeat(40));
  out.writeUnknown = (await session.write({ nodeId: `ns=${nsIndex};s=Vigil/${camera}/NoSuchSignal`,
    attributeId: AttributeIds.Value, value: { value: { dataType: DataType.Boolean, value: true } } })).name;
  out.lotAfter = await read("Lot");
  if (scenario === "latency") {
    // N triggers at 10/s: trigger -> result-ready, each acknowledged
    const n = Number(process.env.TRIGGERS || 50);
    const lat = [];
    for (let i = 0; i < n; i++) {
      const start = Date.now();
      await write("Trigger", DataType.Boolean, true);
      await waitFor("ResultReady", true, 10000);
      lat.push(Date.now() - start);
      await write("Trigger", DataType.Boolean, false);
      await write("ResultAck", DataType.Boolean, true);
      await waitFor("Ready", true, 5000);
      await write("ResultAck", DataType.Boolean, false);
      const rest = 100 - (Date.now() - start);
      if (rest > 0) await sleep(rest);
    }
    out.latencies = lat;
  }
  await session.close();
  await client.disconnect();
  console.log(JSON.stringify(out));
}

main().catch((e) => {
  console.log(JSON.stringify({ error: String(e && e.message || e) }));
  process.exit(1);
});
