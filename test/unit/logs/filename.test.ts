import assert from 'node:assert/strict';
import { test } from 'node:test';
import { labelsForLogFile, parseLogFileName } from '../../../src/logs/filename.ts';
import type { LogFileMeta, LogFileNameResult } from '../../../src/logs/filename.ts';

const ENV = { envCodes: ['dev', 'nor', 'eme', 'spe', 'mir', 'pro'] };

function meta(result: LogFileNameResult): LogFileMeta {
  if (!result.ok) assert.fail(`expected a parse, got: ${result.reason}`);
  return result.meta;
}

function reason(result: LogFileNameResult): string {
  if (result.ok) assert.fail(`expected a failure, got ${JSON.stringify(result.meta)}`);
  return result.reason;
}

test('the naming convention\'s examples (docs/logs.md): an application log and a tracing log', () => {
  assert.deepEqual(meta(parseLogFileName('/data/application/logs/weberror_aether_nor_8_778283_20150819.log', ENV)), {
    dataset: 'app',
    logType: 'weberror',
    app: 'aether',
    env: 'nor',
    imageTag: '8',
    hostname: '778283',
    date: '20150819',
  });
  assert.deepEqual(meta(parseLogFileName('/data/application/logs/tracing/tracing_aether_nor_8_778283_2015081912.log', ENV)), {
    dataset: 'tracing',
    logType: 'tracing',
    app: 'aether',
    env: 'nor',
    imageTag: '8',
    hostname: '778283',
    date: '2015081912',
  });
});

test('the app name may contain underscores: parsing is from the right', () => {
  const m = meta(parseLogFileName('access_order_service_v2_pro_1.4.2_web-01.example.com_20240229.log', ENV));
  assert.equal(m.logType, 'access');
  assert.equal(m.app, 'order_service_v2');
  assert.equal(m.env, 'pro');
  assert.equal(m.imageTag, '1.4.2');
  assert.equal(m.hostname, 'web-01.example.com');
  assert.equal(m.date, '20240229');
  assert.equal(meta(parseLogFileName('tracing_a_b_c_dev_latest_3f2a9c1b7d4e_2024010100.log', ENV)).app, 'a_b_c');
});

test('doubled underscores stay in the app name; other fields must not be empty', () => {
  assert.equal(meta(parseLogFileName('x_my__app_dev_1_h_20200101.log', ENV)).app, 'my__app');
  assert.equal(meta(parseLogFileName('x__app_dev_1_h_20200101.log', ENV)).app, '_app');
  assert.match(reason(parseLogFileName('x__dev_1_h_20200101.log', ENV)), /app name is empty/);
  assert.match(reason(parseLogFileName('_app_dev_1_h_20200101.log', ENV)), /log type \(first field\) is empty/);
  assert.match(reason(parseLogFileName('x_app__1_h_20200101.log', ENV)), /env field is empty/);
  assert.match(reason(parseLogFileName('x_app_dev__h_20200101.log', ENV)), /image tag is empty/);
  assert.match(reason(parseLogFileName('x_app_dev_1__20200101.log', ENV)), /hostname is empty/);
  assert.match(reason(parseLogFileName('x_app_dev_1_h_.log', ENV)), /date "" is not yyyymmdd/);
});

test('env codes are case-insensitive, returned lower-case, and the table is configurable', () => {
  assert.equal(meta(parseLogFileName('err_app_PRO_1_h_20200101.log', ENV)).env, 'pro');
  assert.equal(meta(parseLogFileName('err_app_Mir_1_h_20200101.log', ENV)).env, 'mir');
  assert.equal(reason(parseLogFileName('err_app_qa_1_h_20200101.log', ENV)), 'env "qa" is not one of dev, nor, eme, spe, mir, pro');
  const custom = { envCodes: ['QA', 'stg'] };
  assert.equal(meta(parseLogFileName('err_app_qa_1_h_20200101.log', custom)).env, 'qa');
  assert.equal(reason(parseLogFileName('err_app_nor_1_h_20200101.log', custom)), 'env "nor" is not one of qa, stg');
});

test('an image tag containing "_" shifts the fields and is reported through the env', () => {
  assert.equal(reason(parseLogFileName('err_app_nor_1.0_beta_h_20200101.log', ENV)), 'env "1.0" is not one of dev, nor, eme, spe, mir, pro');
});

test('too few fields, wrong extension', () => {
  assert.match(reason(parseLogFileName('/x/app.log', ENV)), /at least 6 "_"-separated fields .* got 1$/);
  assert.match(reason(parseLogFileName('a_b_nor_1_20200101.log', ENV)), /got 5$/);
  assert.equal(reason(parseLogFileName('/x/err_app_nor_1_h_20200101.log.1', ENV)), '"err_app_nor_1_h_20200101.log.1" does not end in .log');
  assert.match(reason(parseLogFileName('err_app_nor_1_h_20200101.txt', ENV)), /does not end in \.log/);
  assert.match(reason(parseLogFileName('.log', ENV)), /got 1$/);
  assert.match(reason(parseLogFileName('', ENV)), /does not end in \.log/);
  assert.match(reason(parseLogFileName('/data/logs/', ENV)), /does not end in \.log/);
});

test('the extension and the tracing prefix are matched case-insensitively', () => {
  assert.equal(meta(parseLogFileName('err_app_nor_1_h_20200101.LOG', ENV)).date, '20200101');
  const m = meta(parseLogFileName('Tracing_app_nor_1_h_2020010123.Log', ENV));
  assert.equal(m.dataset, 'tracing');
  assert.equal(m.logType, 'Tracing');
});

test('dates must be real: calendar days, leap years, hours 00-23', () => {
  assert.equal(meta(parseLogFileName('e_a_nor_1_h_20240229.log', ENV)).date, '20240229');
  assert.equal(meta(parseLogFileName('e_a_nor_1_h_20000229.log', ENV)).date, '20000229');
  assert.equal(reason(parseLogFileName('e_a_nor_1_h_20230229.log', ENV)), 'date "20230229" has day 29 (202302 has 28 days)');
  assert.match(reason(parseLogFileName('e_a_nor_1_h_19000229.log', ENV)), /before 1970/);
  assert.equal(reason(parseLogFileName('e_a_nor_1_h_21000229.log', ENV)), 'date "21000229" has day 29 (210002 has 28 days)');
  assert.equal(reason(parseLogFileName('e_a_nor_1_h_20201301.log', ENV)), 'date "20201301" has month 13 (01–12)');
  assert.match(reason(parseLogFileName('e_a_nor_1_h_20200001.log', ENV)), /month 00/);
  assert.match(reason(parseLogFileName('e_a_nor_1_h_20200100.log', ENV)), /day 00/);
  assert.match(reason(parseLogFileName('e_a_nor_1_h_20200431.log', ENV)), /day 31 \(202004 has 30 days\)/);
  assert.match(reason(parseLogFileName('e_a_nor_1_h_2020010.log', ENV)), /not yyyymmdd \(8 digits\)/);
  assert.match(reason(parseLogFileName('e_a_nor_1_h_2020-01-01.log', ENV)), /not yyyymmdd/);
  assert.match(reason(parseLogFileName('e_a_nor_1_h_２０２００１０１.log', ENV)), /not yyyymmdd/, 'only ASCII digits');
  assert.equal(meta(parseLogFileName('tracing_a_nor_1_h_2020010100.log', ENV)).date, '2020010100');
  assert.equal(meta(parseLogFileName('tracing_a_nor_1_h_2020010123.log', ENV)).date, '2020010123');
  assert.equal(reason(parseLogFileName('tracing_a_nor_1_h_2020010124.log', ENV)), 'tracing date "2020010124" has hour 24 (00–23)');
  assert.match(reason(parseLogFileName('tracing_a_nor_1_h_2020023012.log', ENV)), /day 30/);
});

test('a tracing file with a daily date, or an app log with an hourly one, is unparsed', () => {
  assert.equal(reason(parseLogFileName('tracing_aether_nor_8_778283_20150819.log', ENV)), 'tracing date "20150819" is not yyyymmddhh (10 digits)');
  assert.equal(reason(parseLogFileName('weberror_aether_nor_8_778283_2015081912.log', ENV)), 'date "2015081912" is not yyyymmdd (8 digits)');
});

test('the dataset follows the name, not the directory', () => {
  assert.equal(meta(parseLogFileName('/data/application/logs/tracing/weberror_a_nor_1_h_20200101.log', ENV)).dataset, 'app');
  assert.equal(meta(parseLogFileName('/data/application/logs/tracing_a_nor_1_h_2020010100.log', ENV)).dataset, 'tracing');
  assert.equal(meta(parseLogFileName('/data/tracing_x/weberror_a_nor_1_h_20200101.log', ENV)).logType, 'weberror', 'only the base name counts');
});

test('names that are not valid UTF-8 (decoded with U+FFFD) are unparsed; other Unicode is fine', () => {
  const decoded = Buffer.from([...Buffer.from('err_app'), 0xff, ...Buffer.from('_nor_1_h_20200101.log')]).toString('utf8');
  assert.match(reason(parseLogFileName(decoded, ENV)), /not valid UTF-8/);
  const m = meta(parseLogFileName('错误_订单服务_nor_1_主机_20200101.log', ENV));
  assert.equal(m.app, '订单服务');
  assert.equal(m.hostname, '主机');
});

test('labelsForLogFile maps to the ECS labels the Logstash side expects', () => {
  assert.deepEqual(labelsForLogFile(meta(parseLogFileName('weberror_aether_nor_8_778283_20150819.log', ENV))), {
    log_type: 'weberror',
    app: 'aether',
    env: 'nor',
    image_tag: '8',
    container_hostname: '778283',
    log_date: '20150819',
  });
});
