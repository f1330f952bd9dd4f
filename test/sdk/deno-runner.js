// deno run test/sdk/deno-runner.js <client.js> <baseURL> <apiKey> <suffix>
const [clientPath, baseURL, apiKey, suffix] = Deno.args;
const sdk = await import(new URL(`file://${clientPath}`).href);
const { runScenario } = await import('./runtime-scenario.js');
console.log(JSON.stringify(await runScenario(sdk, { baseURL, apiKey, suffix })));
