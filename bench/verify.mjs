// verify.mjs: the Node side of `make bench`. Times aws-jwt-verify's
// verifySync (AWS's JWT verifier for Lambda authorizers) on the token and
// JWKS of a fixture written by `go run ./bench/fixture`, and prints one line
// in `go test -bench` format, with the same cpu-ns/op metric as the Go side.
//
//   node bench/verify.mjs fixture.json [iterations]
import { readFileSync } from "node:fs";
import { JwtVerifier } from "aws-jwt-verify";

const [file, n = "20000"] = process.argv.slice(2);
const fx = JSON.parse(readFileSync(file, "utf8"));
const verifier = JwtVerifier.create({
  issuer: fx.issuer,
  audience: fx.audience,
  jwksUri: "https://example.invalid/.well-known/jwks.json", // never fetched: cacheJwks below
});
verifier.cacheJwks(fx.jwks);

const check = (payload) => {
  if (payload.sub !== "user-42" || payload.sid !== "sess-7") throw new Error("unexpected payload");
};
check(verifier.verifySync(fx.token));
// Warm up: let V8 optimise the path before timing it.
for (let i = 0; i < 2000; i++) verifier.verifySync(fx.token);

const iterations = Number(n);
const cpu0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
for (let i = 0; i < iterations; i++) verifier.verifySync(fx.token);
const wall = Number(process.hrtime.bigint() - t0);
const cpu = process.cpuUsage(cpu0);
const cpuNs = (cpu.user + cpu.system) * 1000;
console.log(
  `BenchmarkAwsJwtVerifySync-node ${iterations} ${(wall / iterations).toFixed(0)} ns/op ${(cpuNs / iterations).toFixed(0)} cpu-ns/op  (aws-jwt-verify ${JSON.parse(readFileSync(new URL("./node_modules/aws-jwt-verify/package.json", import.meta.url), "utf8")).version}, node ${process.version})`,
);
