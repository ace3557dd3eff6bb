// The reference sender: @discordjs/voice's own DAVESession (over @snazzah/davey) joins the MLS group the
// Python test's fake voice server forms, then @discordjs/voice's own createAudioPacket turns each Opus
// frame into the datagram a Discord client sends (DAVE, RTP header, aead_aes256_gcm_rtpsize).
// Protocol over stdin/stdout, one JSON object per line:
//   out {"key_package": hex}                          in {"external_sender": hex, "welcome": hex}
//   out {"ready": true}                              in {"secret_key": hex, "ssrc": n, "frames": [hex]}
//   out {"packets": [hex]}
'use strict';
const readline = require('node:readline');
const { DAVESession, Networking } = require('@discordjs/voice');

const [userId, channelId] = process.argv.slice(2);
const lines = readline.createInterface({ input: process.stdin });
const send = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
const inbox = [];
let waiting = null;
lines.on('line', (line) => {
  const msg = JSON.parse(line);
  if (waiting) {
    const resolve = waiting;
    waiting = null;
    resolve(msg);
  } else inbox.push(msg);
});
const next = () => (inbox.length ? Promise.resolve(inbox.shift()) : new Promise((r) => { waiting = r; }));

(async () => {
  const dave = new DAVESession(1, userId, channelId, {});
  dave.reinit(); // what Networking does on the voice server's first epoch
  send({ key_package: Buffer.from(dave.session.getSerializedKeyPackage()).toString('hex') });
  const group = await next();
  dave.setExternalSender(Buffer.from(group.external_sender, 'hex'));
  const transition = Buffer.alloc(2); // transition id 0: the initial group
  const result = dave.processWelcome(Buffer.concat([transition, Buffer.from(group.welcome, 'hex')]));
  if (!result.success || !dave.session.ready) throw new Error('the welcome did not make a ready session');
  send({ ready: true });
  const stream = await next();
  const connectionData = {
    encryptionMode: 'aead_aes256_gcm_rtpsize',
    secretKey: new Uint8Array(Buffer.from(stream.secret_key, 'hex')),
    ssrc: stream.ssrc,
    sequence: 7000,
    timestamp: 960000,
    nonce: 0,
    nonceBuffer: Buffer.alloc(12),
  };
  const packets = stream.frames.map((hex) => {
    const packet = Networking.prototype.createAudioPacket.call(
      Networking.prototype, Buffer.from(hex, 'hex'), connectionData, dave,
    );
    connectionData.sequence = (connectionData.sequence + 1) % 65536;
    connectionData.timestamp = (connectionData.timestamp + 960) % 2 ** 32;
    return packet.toString('hex');
  });
  send({ packets });
  process.exit(0);
})().catch((error) => {
  process.stderr.write(String(error && error.stack || error) + '\n');
  process.exit(1);
});
