// Drives the official `airtable` client (npm) through its whole records surface against the
// URL in AIRTABLE_ENDPOINT_URL and prints one JSON object of observations on stdout.
'use strict';
const Airtable = require('airtable');

const { AIRTABLE_ENDPOINT_URL: endpointUrl, AIRTABLE_TOKEN: apiKey, BASE_ID: baseId,
        TABLE_NAME: tableName } = process.env;
const base = new Airtable({ apiKey, endpointUrl, noRetryIfRateLimited: true }).base(baseId);
const table = base(tableName);
const out = {};
const ids = (records) => records.map((r) => r.id);

async function errorOf(promise) {
  try { await promise; return null; } catch (e) { return { error: e.error, statusCode: e.statusCode }; }
}

async function main() {
  // Create: single, batched, typecast.
  const one = await table.create({ Name: 'JS One', Company: 'Acme', Employees: 5 });
  out.createOne = { id: one.id, fields: one.fields, createdTime: one._rawJson.createdTime };
  const many = await table.create([
    { fields: { Name: 'JS Two', Company: 'Beta', Employees: 20, Status: 'new' } },
    { fields: { Name: 'JS Three', Company: 'Gamma', Employees: 300 } },
  ]);
  out.createMany = ids(many);
  const cast = await table.create([{ fields: { Name: 'JS Cast', Employees: '42' } }], { typecast: true });
  out.typecast = cast[0].fields.Employees;
  out.typecastRefused = await errorOf(table.create({ Name: 'JS Bad', Employees: 'x' }));

  // Find (and fetch).
  const found = await table.find(one.id);
  out.find = found.fields.Name;
  out.findMissing = await errorOf(table.find('recXXXXXXXXXXXXXX'));

  // Update (PATCH) and replace (PUT), single and batched.
  out.updateOne = (await table.update(one.id, { Title: 'CTO' })).fields;
  out.updateMany = (await table.update([{ id: many[0].id, fields: { Title: 'CEO' } },
                                        { id: many[1].id, fields: { Title: 'VP' } }])).map((r) => r.fields.Title);
  out.replaceOne = (await table.replace(many[1].id, { Name: 'JS Three' })).fields;
  out.replaceMany = (await table.replace([{ id: many[0].id, fields: { Name: 'JS Two b' } }])).map((r) => r.fields);
  // Upsert: update() with performUpsert, records without ids.
  const upserted = await table.update(
    [{ fields: { Name: 'JS One', Title: 'Boss' } }, { fields: { Name: 'JS Four' } }],
    { performUpsert: { fieldsToMergeOn: ['Name'] } });
  out.upsert = upserted.map((r) => [r.id === one.id, r.fields.Name, r.fields.Title ?? null]);

  // Record methods: patchUpdate / putUpdate / fetch.
  await found.patchUpdate({ Notes: 'patched' });
  out.recordPatch = (await found.fetch()).get('Notes');

  // select(): every option, and all/firstPage/eachPage.
  const mine = "FIND('JS ', {Name})=1";
  const selected = await table.select({
    fields: ['Name', 'Employees'], filterByFormula: mine, maxRecords: 3, pageSize: 2,
    sort: [{ field: 'Employees', direction: 'desc' }], view: 'Grid view', cellFormat: 'json',
  }).all();
  out.selectAll = selected.map((r) => [r.get('Name'), r.get('Employees') ?? null, Object.keys(r.fields).sort()]);
  out.firstPage = (await table.select({ filterByFormula: mine, pageSize: 2 }).firstPage()).length;
  const pages = [];
  await table.select({ filterByFormula: mine, pageSize: 2 }).eachPage((records, next) => {
    pages.push(records.length); next();
  });
  out.eachPage = pages;
  const byId = await table.select({ filterByFormula: `RECORD_ID()='${one.id}'`, returnFieldsByFieldId: true }).firstPage();
  out.byFieldId = Object.keys(byId[0].fields).every((k) => k.startsWith('fld'));
  const asString = await table.select({ filterByFormula: `RECORD_ID()='${one.id}'`, cellFormat: 'string',
                                        timeZone: 'Europe/Paris', userLocale: 'en-gb' }).firstPage();
  out.cellFormatString = asString[0].fields.Employees;
  const withMeta = await table.select({ filterByFormula: `RECORD_ID()='${one.id}'`, recordMetadata: ['commentCount'] }).firstPage();
  out.commentCount = withMeta[0].commentCount;
  // POST fallback: a formula long enough that the client switches to POST …/listRecords.
  const longFormula = 'OR(' + [one.id, ...Array.from({ length: 600 }, (_, i) => `rec${String(i).padStart(14, '0')}`)]
    .map((id) => `RECORD_ID()='${id}'`).join(',') + ')';
  out.longFormula = ids(await table.select({ filterByFormula: longFormula }).all());
  out.explicitPost = ids(await table.select({ filterByFormula: `RECORD_ID()='${one.id}'`, method: 'post' }).all());
  out.badFormula = await errorOf(table.select({ filterByFormula: '{Nope}=1' }).all());

  // Destroy: single and batched.
  out.destroyOne = (await table.destroy(one.id)).id;
  out.destroyMany = ids(await table.destroy([many[0].id, many[1].id]));
  out.afterDestroy = await errorOf(table.find(one.id));
  process.stdout.write(JSON.stringify(out));
}

main().catch((e) => { process.stderr.write(String(e && e.stack || e) + '\n' + JSON.stringify(e)); process.exit(1); });
