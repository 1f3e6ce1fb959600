// The browser client's cost of DPoP per request: one ES256 proof with ath
// made by the dpop package (WebCrypto), as the client makes one for each
// API call. Prints the mean wall and CPU time per proof over 2000 proofs,
// after 200 to warm up. Run after `npm ci` in clients/js:
//   node clients/js/bench/proof.mjs
import { generateKeyPair, generateProof } from 'dpop';

const kp = await generateKeyPair('ES256');
const make = () => generateProof(kp, 'https://api.example.com/Prod/me', 'GET', undefined, 'an access token');
for (let i = 0; i < 200; i++) await make();
const n = 2000;
const t0 = performance.now();
const c0 = process.cpuUsage();
for (let i = 0; i < n; i++) await make();
const cpu = process.cpuUsage(c0);
console.log(`dpop.generateProof ES256: ${((performance.now() - t0) * 1000 / n).toFixed(0)} µs/proof wall, ${((cpu.user + cpu.system) / n).toFixed(0)} µs/proof CPU (Node ${process.version})`);
