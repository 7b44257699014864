// qingshan web UI (zh-CN). Plain JavaScript, no build step; ECharts is vendored.
'use strict';
const QS = (() => {
  // HJ 633 AQI level colours and categories (level 1–6).
  const AQI_COLORS = ['#00E400', '#FFFF00', '#FF7E00', '#FF0000', '#99004C', '#7E0023'];
  const AQI_NAMES = ['优', '良', '轻度污染', '中度污染', '重度污染', '严重污染'];
  // GB 3838 water class colours: I–II blue, III green, IV yellow, V orange, 劣V red.
  const WATER_COLORS = { I: '#00A0E9', II: '#00A0E9', III: '#00B050', IV: '#FFFF00', V: '#FF7E00', '劣V': '#FF0000' };
  const waterBadge = (c) => (c ? `<span class="badge" style="background:${WATER_COLORS[c] || '#888'}">${esc(c)}类</span>` : '<span class="muted">无数据</span>');
  const KIND_NAMES = { air: '空气站', surface_water: '地表水断面', drinking_water: '饮用水水源地', noise: '噪声点',
    flue_gas: '废气排口', wastewater: '废水排口', fume: '餐饮油烟' };
  const POLLUTANTS = [['a34004', 'PM2.5'], ['a34002', 'PM10'], ['a05024', 'O₃'], ['a21004', 'NO₂'], ['a21026', 'SO₂'], ['a21005', 'CO']];
  const PRIMARY = { PM25_24H: 'PM2.5', PM10_24H: 'PM10', O3_8H: 'O₃-8h', O3_1H: 'O₃-1h', NO2_24H: 'NO₂', SO2_24H: 'SO₂', CO_24H: 'CO', SO2_1H: 'SO₂-1h', NO2_1H: 'NO₂-1h', PM10_1H: 'PM10-1h', PM25_1H: 'PM2.5-1h', CO_1H: 'CO-1h' };
  // Navigation: built pages have a render function; the others are shown disabled (建设中).
  // A fourth element lists the roles that may open the page (the API's role table); the
  // page is not in the menu for the others.
  const STAFF = ['admin', 'monitoring', 'enforcement', 'planning'];
  // Town officials get 水, 污染源 and 油烟 of their town, enterprise operators 污染源 of their
  // outlets (the API cuts the reports down to their scope).
  const PAGES = [
    ['overview', '总览', overview], ['air', '大气', airPage], ['water', '水', waterPage, [...STAFF, 'town']], ['sources', '污染源', sourcesPage, [...STAFF, 'town', 'enterprise']],
    ['fume', '油烟', fumePage, [...STAFF, 'town']], ['noise', '噪声', noisePage, STAFF], ['alarms', '告警', alarmsPage], ['audit', '数据审核', auditPage, STAFF],
    ['devices', '设备', devicesPage], ['plan', '规划指标', planPage, [...STAFF, 'town']],
  ];
  const allowed = (p) => !p[3] || p[3].includes(me.role);
  const ROLE_NAMES = { admin: '系统管理员', monitoring: '监测人员', enforcement: '执法人员', planning: '规划人员', town: '乡镇(街道)', enterprise: '企业用户' };
  // Alarm severity colours (一般 蓝, 较重 黄, 严重 橙, 特别严重 红).
  const SEV_COLORS = { info: '#1E90FF', warning: '#FFFF00', major: '#FF7E00', critical: '#FF0000' };
  const RULE_NAMES = { exceedance: '超标', pre_warning: '预警', offline: '离线', aqi_jump: '空气质量突变', data_anomaly: '数据异常',
    water_below_target: '水质未达标', drinking_water_noncompliance: '饮用水不达标' };
  const STEP_NAMES = { raised: '产生', escalated: '升级', cleared: '自动解除', ack: '确认', dispatch: '派发', handle: '处置反馈',
    close: '办结', reopen: '重新打开', overdue: '逾期' };
  const STATUS_CN = { new: '新告警', acknowledged: '已确认', dispatched: '已派发', handled: '已处置', closed: '已办结', cleared: '已自动解除' };
  const IND_STATUS = { met: ['已达标', '#00B050'], on_track: ['进度正常', '#1E90FF'], at_risk: ['有风险', '#FF7E00'], missed: ['未达标', '#FF0000'],
    in_progress: ['年度进行中', '#5c7fa6'], no_data: ['无数据', '#8a8a8a'], target_pending: ['目标待下达', '#8a8a8a'] };
  // A running year's progress (engine::indicators::Progress): so far, rate so far, projection, reachable range.
  const mdCn = (d) => `${Number(d.slice(5, 7))}月${Number(d.slice(8, 10))}日`;
  const indProgress = (p, unit, days) => {
    if (!p) return '';
    const u = unit === '%' ? '%' : unit;
    // The reachable range only where it already narrows the year (days lost, months failed).
    const top = days ? p.period_days : 100;
    const reach = p.reachable_max != null && p.reachable_max < top ? `;全年最多 ${p.reachable_max}${u}` : '';
    // A projection from few valid days says little: below GB 3095 Table 4's share for a year
    // (324 of 365 days) of the days elapsed it is marked as such.
    const thin = p.valid_days != null && p.valid_days < p.elapsed_days * 324 / 365 ? '(有效天数少,仅供参考)' : '';
    return days
      ? `截至${mdCn(p.as_of)}(已过 ${p.elapsed_days}/${p.period_days} 天,有效 ${p.valid_days ?? '—'} 天):${p.so_far}${u},优良天数比例 ${p.rate_so_far ?? '—'}%,按此推算全年约 ${p.projection ?? '—'}${u}${thin}${reach}`
      : `截至${mdCn(p.as_of)}:${p.rate_so_far ?? '—'}${u},按目前情况推算全年 ${p.projection ?? '—'}${u}${reach}`;
  };
  const indBadge = (st) => `<span class="badge" style="background:${(IND_STATUS[st] || IND_STATUS.no_data)[1]}">${(IND_STATUS[st] || IND_STATUS.no_data)[0]}</span>`;
  const indTarget = (t) => (t.value != null ? `${t.direction || ''} ${t.value}` : (t.text || '—'));
  let me = null;
  const charts = [];
  const $ = (id) => document.getElementById(id);
  const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
  const aqiColor = (lvl) => (lvl ? AQI_COLORS[lvl - 1] : '#8a8a8a');
  const aqiName = (lvl) => (lvl ? AQI_NAMES[lvl - 1] : '无数据');
  const primary = (p) => (p ? p.split(',').map((x) => PRIMARY[x] || x).join('、') : '—');

  // What a failed request says when its answer carries no message (a proxy's error page).
  const HTTP_CN = { 400: '请求有误', 403: '无权执行此操作', 404: '未找到或无权查看', 409: '当前状态不允许此操作', 413: '提交的内容过大',
    415: '提交的内容格式不受支持', 422: '提交的内容格式不正确', 429: '请求过于频繁,请稍后再试', 500: '服务器内部错误', 502: '服务暂不可用', 503: '服务暂不可用', 504: '服务响应超时' };
  async function api(path, opts) {
    const r = await fetch(path, opts);
    if (r.status === 401) { location.href = '/login'; throw new Error('请先登录'); }
    const body = r.headers.get('content-type')?.includes('json') ? await r.json().catch(() => null) : await r.text();
    // The API's Chinese `message` (its English `detail` is for tools and logs).
    if (!r.ok) throw new Error((body && body.message) || HTTP_CN[r.status] || `请求失败(${r.status})`);
    return body;
  }
  // Beijing times inside a text (alarm details, notes) as people write them: 2026-12-04 11:00.
  const human = (t) => String(t ?? '').replace(/(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(:\d{2})?(\+08:00)?/g, '$1 $2');
  function chart(id) {
    const c = echarts.init($(id), null, { renderer: 'canvas' });
    charts.push(c);
    return c;
  }
  window.addEventListener('resize', () => charts.forEach((c) => c.resize()));

  async function start() {
    try { me = await api('/api/v1/auth/me'); } catch (e) { return; }
    $('who').textContent = `${me.display || me.user} · ${me.role_label}${me.scope_name ? ` · ${me.scope_name}` : ''}`;
    $('logout').onclick = async () => { await fetch('/api/v1/auth/logout', { method: 'POST' }); location.href = '/login'; };
    // Pages the role may not open stay in the menu, marked 无权限; opening one says so.
    $('menu').innerHTML = PAGES.map((p) => {
      const [id, name, f] = p;
      if (!f) return `<a class="disabled" id="nav-${id}" title="建设中" aria-disabled="true">${name}</a>`;
      if (!allowed(p)) return `<a class="denied" href="#${id}" id="nav-${id}" title="当前角色无权查看">${name}</a>`;
      return `<a href="#${id}" id="nav-${id}">${name}</a>`;
    }).join('');
    window.addEventListener('hashchange', route);
    route();
  }
  function route() {
    const id = (location.hash || '#overview').slice(1);
    charts.splice(0).forEach((c) => c.dispose());
    const denied = PAGES.find((p) => p[0] === id && p[2] && !allowed(p));
    if (denied) {
      document.querySelectorAll('nav.menu a').forEach((a) => a.classList.toggle('active', a.id === `nav-${id}`));
      $('page').innerHTML = `<div class="panel" id="denied"><h2>无权访问</h2><p>您的账号(${esc(me.role_label)}${me.scope ? ` · ${esc(me.scope_name || me.scope)}` : ''})无权查看「${esc(denied[1])}」页面。</p>
        <p class="muted">该页面仅对${esc(denied[3].map((r) => ROLE_NAMES[r] || r).join('、'))}开放;如需查看请联系系统管理员。</p></div>`;
      return;
    }
    const page = PAGES.find((p) => p[0] === id && p[2] && allowed(p)) || PAGES[0];
    document.querySelectorAll('nav.menu a').forEach((a) => a.classList.toggle('active', a.id === `nav-${page[0]}`));
    $('page').innerHTML = '';
    page[2]().catch((e) => { $('page').insertAdjacentHTML('beforeend', `<p class="error">加载失败:${esc(e.message)}</p>`); });
  }

  // ---- 总览 ----
  let boundaryRegistered = false;
  async function overview() {
    $('page').innerHTML = `<div class="grid">
      <div><div class="panel"><h2>县城空气质量</h2><div id="ov-aqi-day" class="muted" style="text-align:center">日均 AQI</div><div id="ov-aqi" class="big">—</div><div id="ov-aqi-text" style="text-align:center"></div>
             <div id="ov-hour" class="kv" style="margin-top:8px"><span>实时(小时)AQI</span><b id="ov-hour-aqi">—</b></div><div id="ov-hour-text" class="muted" style="text-align:center"></div></div>
           <div class="panel"><h2>设备在线</h2><div id="ov-devices"></div></div>
           <div class="panel"><h2>告警</h2><div id="ov-alarms"></div></div></div>
      <div class="panel"><h2>点位分布</h2><div id="ov-map" class="chart tall"></div></div>
      <div><div class="panel"><h2>空气站(最新日 AQI)</h2><table class="data" id="ov-stations"></table></div>
           <div class="panel" id="ov-ind-panel"><h2>规划指标(对照2025年目标)</h2><table class="data" id="ov-ind"></table><p class="muted">评价按目标年(2025年)数值;年度进行中的数值显示进度,不作评价</p></div>
           <div class="panel"><h2>点位统计</h2><div id="ov-kinds"></div><p class="muted" id="ov-note"></p></div></div></div>`;
    const [ov, geo] = await Promise.all([api('/api/v1/overview'), boundaryRegistered ? null : api('/api/v1/boundary').catch(() => null)]);
    if (geo) { echarts.registerMap('county', typeof geo === 'string' ? JSON.parse(geo) : geo); boundaryRegistered = true; }
    const ca = ov.county_air;
    $('ov-aqi').textContent = ca ? ca.aqi : '—';
    $('ov-aqi').style.color = ca ? aqiColor(ca.level) : '#8a8a8a';
    // Say which day the daily AQI is (yesterday's is the latest complete one; today's runs).
    const dayWord = (c) => (c.days_ago === 0 ? '今日(截至目前)' : c.days_ago === 1 ? '昨日' : c.days_ago > 1 ? `${c.days_ago}天前` : '');
    $('ov-aqi-day').textContent = ca ? `${dayWord(ca)} ${ca.date} 日均 AQI` : '日均 AQI';
    $('ov-aqi-text').innerHTML = ca ? `${aqiName(ca.level)} · 首要污染物 ${esc(primary(ca.primary))}` : '近3日暂无日均值';
    const ch = ov.county_air_hour;
    $('ov-hour-aqi').textContent = ch ? ch.aqi : '—';
    $('ov-hour-aqi').style.color = ch ? aqiColor(ch.level) : '#8a8a8a';
    $('ov-hour-text').innerHTML = ch ? `${aqiName(ch.level)} · 首要污染物 ${esc(primary(ch.primary))} · ${esc(ch.hour.slice(0, 16).replace('T', ' '))} 时` : '近24小时暂无小时值';
    $('ov-devices').innerHTML = `<div class="kv"><span>设备总数</span><b id="ov-dev-total">${ov.devices.total}</b></div>
      <div class="kv"><span>在线</span><b class="on" id="ov-dev-online">${ov.devices.online}</b></div>
      <div class="kv"><span>离线</span><b class="off">${ov.devices.offline}</b></div>
      <div class="kv"><span title="非营业时段的餐饮油烟监控等不在应传时段的设备,不计离线">休息(非应传时段)</span><b class="muted" id="ov-dev-resting">${ov.devices.resting ?? 0}</b></div>`;
    const al = ov.alarms;
    $('ov-alarms').innerHTML = `<div class="kv"><span>待办告警</span><b><a href="#alarms" id="ov-alarm-open">${al.open}</a></b></div>
      <div class="kv"><span>新告警</span><b>${al.new}</b></div><div class="kv"><span>逾期</span><b class="off">${al.overdue}</b></div>
      <div class="kv"><span>特别严重 / 严重 / 较重 / 一般</span><b>${['critical', 'major', 'warning', 'info'].map((k) => `<span style="color:${SEV_COLORS[k]}">${al.by_severity[k] || 0}</span>`).join(' / ')}</b></div>`;
    if (ov.indicators) {
      const ty = ov.indicators.target_year || 2025;
      $('ov-ind').innerHTML = `<tr><th>指标(目标)</th><th>最新值</th><th>${ty}年评价</th></tr>` + ov.indicators.items.map((i) => {
        const latest = i.latest == null ? '—' : `${i.latest}<span class="muted">(${i.latest_year}${i.latest_partial ? ',年度进行中' : ''})</span>`;
        const judged = i.verdict_value != null && i.verdict_year !== i.latest_year ? `<span class="muted">${ty}年 ${i.verdict_value}</span>` : '';
        // The target under the name: a narrow panel has no room for a column of plan wording.
        return `<tr data-code="${esc(i.code)}"><td title="${esc(i.code)}">${esc(i.name)}<br><span class="muted">目标 ${esc(indTarget(i.target))}</span></td>
          <td class="ov-ind-latest" title="${esc(indProgress(i.latest_progress, i.unit, i.computed_from === 'good_days'))}">${latest}</td>
          <td style="white-space:nowrap">${indBadge(i.verdict)}${judged ? `<br>${judged}` : ''}</td></tr>`; }).join('');
    } else { $('ov-ind-panel').remove(); }
    const air = ov.sites.filter((s) => s.kind === 'air');
    $('ov-stations').innerHTML = '<tr><th>站点</th><th>AQI</th><th>类别</th></tr>' + air.map((s) =>
      `<tr><td>${esc(s.name)}</td><td>${s.air ? s.air.aqi : '—'}</td><td><span class="badge" style="background:${aqiColor(s.air?.level)}">${aqiName(s.air?.level)}</span></td></tr>`).join('');
    const kinds = {};
    ov.sites.forEach((s) => { kinds[s.kind] = (kinds[s.kind] || 0) + 1; });
    $('ov-kinds').innerHTML = Object.entries(kinds).map(([k, n]) => `<div class="kv"><span>${KIND_NAMES[k] || k}</span><b>${n}</b></div>`).join('');
    $('ov-note').textContent = ov.water_note;
    const colour = (s) => s.kind === 'air' ? aqiColor(s.air?.level)
      : (s.kind === 'surface_water' || s.kind === 'drinking_water') ? (s.water_class ? WATER_COLORS[s.water_class] : '#6d87a8')
        : s.online > 0 ? '#4fc3f7' : '#6d87a8';
    const series = Object.keys(KIND_NAMES).map((k) => ({
      name: KIND_NAMES[k], type: 'scatter', coordinateSystem: 'geo', symbol: k === 'air' ? 'pin' : k === 'fume' ? 'circle' : 'diamond',
      symbolSize: k === 'air' ? 30 : k === 'fume' ? 6 : 12,
      data: ov.sites.filter((s) => s.kind === k).map((s) => ({ name: s.name, value: [s.lon, s.lat], itemStyle: { color: colour(s) }, site: s })),
    }));
    chart('ov-map').setOption({
      tooltip: { formatter: (p) => { const s = p.data.site; return `${esc(s.name)}<br>${KIND_NAMES[s.kind]}${s.air ? `<br>AQI ${s.air.aqi} ${aqiName(s.air.level)}` : ''}${s.water_class ? `<br>水质 ${esc(s.water_class)}类(${esc(s.water_month)})目标 ${esc(s.target_class || '—')}类` : ''}<br>设备 ${s.online}/${s.devices} 在线`; } },
      legend: { bottom: 0, textStyle: { color: '#cfe0ff' } },
      geo: { map: boundaryRegistered ? 'county' : undefined, roam: true, itemStyle: { areaColor: '#123f7d', borderColor: '#4fa3ff' },
        label: { show: false }, emphasis: { disabled: true } },
      series,
    });
  }

  // ---- 大气 ----
  async function airPage() {
    const sites = (await api('/api/v1/sites?kind=air')).items;
    const year = new Date().getFullYear();
    $('page').innerHTML = `<div class="panel">站点 <select id="air-site">${sites.map((s) => `<option value="${esc(s.code)}">${esc(s.name)}</option>`).join('')}</select>
      年份 <select id="air-year">${[year, year - 1, year - 2].map((y) => `<option>${y}</option>`).join('')}</select> <a class="muted" id="air-xlsx">导出 Excel</a></div>
      <div class="panel"><h2>逐时浓度(近3日)</h2><div id="air-hourly" class="chart"></div></div>
      <div class="row"><div class="panel"><h2>日历热图:逐日 AQI</h2><div id="air-calendar" class="chart" style="height:260px"></div></div></div>
      <div class="row"><div class="panel"><h2>各月优良天数</h2><div id="air-monthly" class="chart"></div></div>
      <div class="panel"><h2 id="air-annual-title">年度统计</h2><table class="data" id="air-annual"></table></div></div>
      <div class="panel">对比指标 <select id="air-metric"><option value="good">各月优良天数</option><option value="pm25">PM2.5 月均值 µg/m³</option></select>
        对比年份 <select id="air-year2">${[year - 1, year - 2, year - 3, year].map((y) => `<option>${y}</option>`).join('')}</select></div>
      <div class="row"><div class="panel"><h2 id="air-cmp-title">站点对比</h2><div id="air-compare" class="chart"></div></div>
      <div class="panel"><h2 id="air-years-title">同站年际对比</h2><div id="air-years" class="chart"></div></div></div>`;
    const draw = async () => {
      const site = $('air-site').value, y = $('air-year').value;
      $('air-xlsx').href = `/api/v1/air?year=${y}&format=xlsx`;
      const from = new Date(Date.now() - 3 * 86400e3 + 8 * 3600e3).toISOString().slice(0, 10);
      const [vals, rep] = await Promise.all([
        api(`/api/v1/values?site=${encodeURIComponent(site)}&period=hour&from=${from}&per_page=10000`),
        api(`/api/v1/air?year=${y}`)]);
      const byCode = {};
      vals.items.filter((v) => v.field === 'Avg').forEach((v) => { (byCode[v.code] = byCode[v.code] || []).push([v.time, Number(v.value)]); });
      chart('air-hourly').setOption({
        tooltip: { trigger: 'axis' }, legend: { textStyle: { color: '#cfe0ff' } },
        xAxis: { type: 'time', axisLabel: { color: '#9fc3ee' } }, yAxis: [{ type: 'value', name: 'µg/m³', axisLabel: { color: '#9fc3ee' } }, { type: 'value', name: 'CO mg/m³', axisLabel: { color: '#9fc3ee' } }],
        series: POLLUTANTS.map(([c, n]) => ({ name: n, type: 'line', showSymbol: false, yAxisIndex: c === 'a21005' ? 1 : 0, data: byCode[c] || [] })),
      });
      const st = rep.stations.find((s) => s.site === site) || rep.county;
      const daily = st.daily.filter((d) => d.aqi != null);
      chart('air-calendar').setOption({
        tooltip: { formatter: (p) => `${p.value[0]}<br>AQI ${p.value[1]}` },
        visualMap: { type: 'piecewise', orient: 'horizontal', left: 'center', top: 0, textStyle: { color: '#cfe0ff' },
          pieces: [[0, 50], [51, 100], [101, 150], [151, 200], [201, 300], [301, 9999]].map(([a, b], i) => ({ min: a, max: b, color: AQI_COLORS[i], label: AQI_NAMES[i] })) },
        calendar: { top: 60, left: 40, right: 20, range: String(y), cellSize: ['auto', 16], dayLabel: { nameMap: 'ZH', color: '#9fc3ee' }, monthLabel: { nameMap: 'ZH', color: '#9fc3ee' },
          yearLabel: { show: false }, itemStyle: { color: '#0e2a52', borderColor: '#1d4f8f' } },
        series: [{ type: 'heatmap', coordinateSystem: 'calendar', data: daily.map((d) => [d.date, d.aqi]) }],
      });
      const good = Array(12).fill(0), valid = Array(12).fill(0);
      daily.forEach((d) => { const m = Number(d.date.slice(5, 7)) - 1; valid[m]++; if (d.aqi <= 100) good[m]++; });
      chart('air-monthly').setOption({
        tooltip: { trigger: 'axis' }, legend: { textStyle: { color: '#cfe0ff' } },
        xAxis: { type: 'category', data: good.map((_, i) => `${i + 1}月`), axisLabel: { color: '#9fc3ee' } }, yAxis: { type: 'value', axisLabel: { color: '#9fc3ee' } },
        series: [{ name: '优良天数', type: 'bar', data: good, itemStyle: { color: '#00E400' } }, { name: '有效天数', type: 'bar', data: valid, itemStyle: { color: '#4fa3ff' } }],
      });
      const f = (v, d = 1) => (v == null ? '—' : Number(v).toFixed(d));
      // A year still running (Beijing) is not judged: GB 3095 Table 4 wants ≥ 324 valid days a
      // year (≥ 27 a month, 25 in Feb); the statistics so far are shown as progress.
      const bjNow = new Date(Date.now() + 8 * 3600e3);
      const running = Number(y) >= bjNow.getUTCFullYear();
      const elapsed = running ? Math.floor((bjNow - Date.UTC(Number(y), 0, 1)) / 86400e3) + 1 : null;
      const suff = st.attainment?.annual_data_sufficient;
      const attain = running ? `年度进行中,年末评价(截至${mdCn(bjNow.toISOString())}有效 ${st.valid_days} 天,年评价需 ≥ 324 天)`
        : suff === false ? `数据不足,不作年度评价(有效 ${st.valid_days} 天,需 ≥ 324 天且每月 ≥ 27 天)`
          : st.attainment?.attains == null ? '数据不足' : st.attainment.attains ? '达标' : '未达标';
      $('air-annual-title').textContent = running ? `年度统计(${y}年截至${mdCn(bjNow.toISOString())},年度进行中)` : `年度统计(${y}年)`;
      const sf = running ? '(截至目前)' : ''; // a running year's means and percentiles are so far
      const rows = [['有效天数', running ? `${st.valid_days}(已过 ${elapsed} 天)` : st.valid_days], ['优良天数', st.good_days], ['优良天数比例 %', f(st.good_days_ratio)], ['重度及以上污染天数', st.heavy_days],
        [`PM2.5 年均${sf} µg/m³`, f(st.PM25_annual_mean, 0)], [`PM10 年均${sf} µg/m³`, f(st.PM10_annual_mean, 0)], [`NO₂ 年均${sf} µg/m³`, f(st.NO2_annual_mean, 0)],
        [`SO₂ 年均${sf} µg/m³`, f(st.SO2_annual_mean, 0)], [`CO 日均第95百分位${sf} mg/m³`, f(st.CO_24H_p95)], [`O₃ 日最大8小时第90百分位${sf} µg/m³`, f(st.O3_8H_p90, 0)],
        ['综合指数', f(st.composite_index ?? st.composite_index_2012, 2)], ['达标(GB 3095 二级)', attain]];
      $('air-annual').innerHTML = rows.map(([k, v]) => `<tr><td>${k}</td><td><b>${esc(v)}</b></td></tr>`).join('');
    };
    // Comparison: every station's (and the county's) monthly figure for the chosen year, and the
    // chosen station in two years. Good days from the year report's daily AQI; PM2.5 monthly
    // means from the month reports (`/api/v1/air?year=&month=`, each cached server-side).
    const cache = {};
    const monthly = (y, metric) => {
      const k = `${y}:${metric}`;
      if (cache[k]) return cache[k];
      const now = new Date(Date.now() + 8 * 3600e3);
      const last = Number(y) === now.getUTCFullYear() ? now.getUTCMonth() + 1 : Number(y) > now.getUTCFullYear() ? 0 : 12;
      cache[k] = (async () => {
        const out = {}; // site ('' = county) -> [12]
        if (metric === 'good') {
          const rep = await api(`/api/v1/air?year=${y}`);
          [...rep.stations, { ...rep.county, site: '' }].forEach((st) => {
            const good = Array(12).fill(null);
            st.daily.forEach((d) => { if (d.aqi == null) return; const m = Number(d.date.slice(5, 7)) - 1; good[m] = (good[m] || 0) + (d.aqi <= 100 ? 1 : 0); });
            out[st.site] = { name: st.site ? st.name || st.site : '全县', v: good };
          });
        } else {
          const reps = await Promise.all(Array.from({ length: 12 }, (_, i) => (i < last ? api(`/api/v1/air?year=${y}&month=${i + 1}`) : null)));
          reps.forEach((rep, i) => {
            if (!rep) return;
            [...rep.stations, { ...rep.county, site: '' }].forEach((st) => {
              const o = out[st.site] = out[st.site] || { name: st.site ? st.name || st.site : '全县', v: Array(12).fill(null) };
              o.v[i] = st.PM25_annual_mean == null ? null : Math.round(st.PM25_annual_mean);
            });
          });
        }
        return out;
      })();
      cache[k].catch(() => { delete cache[k]; });
      return cache[k];
    };
    const MONTHS = Array.from({ length: 12 }, (_, i) => `${i + 1}月`);
    const axes = (unit) => ({ tooltip: { trigger: 'axis' }, legend: { type: 'scroll', textStyle: { color: '#cfe0ff' } },
      xAxis: { type: 'category', data: MONTHS, axisLabel: { color: '#9fc3ee' } }, yAxis: { type: 'value', name: unit, axisLabel: { color: '#9fc3ee' } } });
    const compare = async () => {
      const metric = $('air-metric').value, y = $('air-year').value, y2 = $('air-year2').value, site = $('air-site').value;
      const label = metric === 'good' ? '优良天数' : 'PM2.5 月均值';
      const unit = metric === 'good' ? '天' : 'µg/m³';
      $('air-cmp-title').textContent = `站点对比:${y}年${label}`;
      const name = sites.find((x) => x.code === site)?.name || site;
      $('air-years-title').textContent = `同站年际对比:${name} ${y}年 vs ${y2}年 ${label}`;
      const [a, b] = await Promise.all([monthly(y, metric), monthly(y2, metric)]);
      const kind = metric === 'good' ? 'bar' : 'line';
      chart('air-compare').setOption({ ...axes(unit),
        series: Object.entries(a).map(([k, o]) => ({ name: o.name, type: k ? kind : 'line', data: o.v, connectNulls: false,
          ...(k ? {} : { lineStyle: { type: 'dashed', width: 2 }, itemStyle: { color: '#ffffff' } }) })) }, true);
      chart('air-years').setOption({ ...axes(unit),
        series: [[y, a], [y2, b]].map(([yy, d]) => ({ name: `${yy}年`, type: kind, data: (d[site] || { v: Array(12).fill(null) }).v })) }, true);
    };
    const redraw = async () => { await draw(); await compare(); };
    $('air-site').onchange = redraw; $('air-year').onchange = redraw;
    $('air-metric').onchange = compare; $('air-year2').onchange = compare;
    await redraw();
  }

  // ---- 设备 ----
  async function devicesPage() {
    const staff = STAFF.includes(me.role);
    const PER = 50;
    // The list is searched and paged by the API (`q`, `kind`, `online`, `page`); the selected
    // device's detail and its back-fill sit beside the list, not below all of it.
    $('page').innerHTML = `<div class="panel"><h2>设备列表</h2><div class="form">
      搜索 <input class="f" id="dev-q" type="search" placeholder="MN、点位编码或名称" style="width:240px">
      类型 <select id="dev-kind"><option value="">全部</option>${Object.entries(KIND_NAMES).map(([k, n]) => `<option value="${k}">${n}</option>`).join('')}</select>
      状态 <select id="dev-online"><option value="">全部</option><option value="true">在线</option><option value="false">离线</option></select>
      <span id="dev-count"></span> <a id="dev-csv" class="muted">导出 CSV</a> <a id="dev-xlsx" class="muted">导出 Excel</a></div>
      <div class="dev-row"><div class="dev-list"><table class="data clickable" id="dev-table"></table>
        <div class="pager" id="dev-pager"></div></div>
      <div class="dev-side"><div class="panel" id="dev-detail"><p class="muted">点击设备行查看状态、协议偏差与拒收记录,并可发送补发数据命令</p></div>
        <div class="panel" id="cmd-panel"><h2>补发数据(2061)</h2>
        <div class="form">设备 <b id="cmd-mn-name">未选择</b><input type="hidden" id="cmd-mn"></div>
        <div class="form">开始 <input class="f" id="cmd-begin" type="datetime-local"> 结束 <input class="f" id="cmd-end" type="datetime-local">
        <button class="act" id="cmd-send" disabled>发送</button></div><p id="cmd-result"></p>
        <table class="data" id="cmd-table"></table></div></div></div></div>
      ${staff ? `<div class="panel"><h2>拒收记录(按设备,含未登记的 MN)</h2><a href="/api/v1/refusals?format=xlsx" class="muted">导出 Excel</a>
        <table class="data" id="dev-refusals"></table></div>` : ''}`;
    const devCount = (txt) => (txt ? txt.split(' ').reduce((n, kv) => n + Number(kv.split('=')[1] || 0), 0) : 0);
    let page = 1, seq = 0, selected = null;
    const query = () => {
      const q = new URLSearchParams();
      if ($('dev-q').value.trim()) q.set('q', $('dev-q').value.trim());
      if ($('dev-kind').value) q.set('kind', $('dev-kind').value);
      if ($('dev-online').value) q.set('online', $('dev-online').value);
      return q;
    };
    const list = async () => {
      const n = ++seq;
      const q = query();
      $('dev-csv').href = `/api/v1/devices?${q}&format=csv`; $('dev-xlsx').href = `/api/v1/devices?${q}&format=xlsx`;
      q.set('page', page); q.set('per_page', PER);
      const d = await api(`/api/v1/devices?${q}`);
      if (n !== seq) return; // a later search wins
      const pages = Math.max(1, Math.ceil(d.total / PER));
      $('dev-count').textContent = `共 ${d.total} 台,在线 ${d.online_count} 台,离线 ${d.offline_count} 台` +
        (d.resting_count ? `,休息(非应传时段) ${d.resting_count} 台` : '');
      $('dev-table').innerHTML = '<tr><th>MN</th><th>点位</th><th>类型</th><th>状态</th><th>最后数据包</th><th>包数</th><th>协议偏差(次)</th><th>拒收(次)</th></tr>' + (d.items.length ? d.items.map((x) =>
        `<tr data-id="${esc(x.mn)}" class="${x.mn === selected ? 'sel' : ''}"><td>${esc(x.mn)}</td><td title="${esc(x.site)}">${esc(x.site_name || x.site)}</td><td>${esc(KIND_NAMES[x.kind] || x.kind)}</td><td class="${x.online ? 'on' : x.state === 'resting' ? 'muted' : 'off'}">${x.online ? '在线' : x.state === 'resting' ? '休息' : '离线'}</td>
         <td>${bj(x.last_seen)}</td><td>${x.packets}</td><td>${devCount(x.deviations) || '—'}</td><td class="${x.refusals ? 'off' : ''}">${x.refusals || '—'}</td></tr>`).join('')
        : '<tr><td colspan="8" class="muted">没有符合条件的设备</td></tr>');
      $('dev-pager').innerHTML = `<button class="act" id="dev-prev" ${page <= 1 ? 'disabled' : ''}>上一页</button> <span id="dev-page">第 ${page} / ${pages} 页</span>
        <button class="act" id="dev-next" ${page >= pages ? 'disabled' : ''}>下一页</button>`;
      $('dev-prev').onclick = () => { page -= 1; list().catch(fail); };
      $('dev-next').onclick = () => { page += 1; list().catch(fail); };
      $('dev-table').querySelectorAll('tr[data-id]').forEach((tr) => { tr.onclick = () => detail(tr.dataset.id).catch((e) => { $('dev-detail').innerHTML = `<p class="error">加载失败:${esc(e.message)}</p>`; }); });
    };
    const fail = (e) => { $('dev-count').textContent = `查询失败:${e.message}`; };
    const detail = async (mn) => {
      selected = mn;
      $('dev-table').querySelectorAll('tr[data-id]').forEach((tr) => tr.classList.toggle('sel', tr.dataset.id === mn));
      const x = await api(`/api/v1/devices/${encodeURIComponent(mn)}`);
      const rf = x.refusals;
      $('dev-detail').innerHTML = `<h2>设备 ${esc(x.mn)} · ${esc(x.site_name || x.site)}</h2>
        <div class="kv"><span>状态</span><b class="${x.online ? 'on' : 'off'}">${x.online ? '在线' : '离线'}</b></div>
          <div class="kv"><span>点位 / 类型</span><b>${esc(x.site_name || x.site)}(${esc(x.site)}) / ${esc(KIND_NAMES[x.kind] || x.kind)}</b></div>
          <div class="kv"><span>最后数据包 / 命令</span><b>${bj(x.last_seen)} / ${esc(x.last_cn || '—')}</b></div>
          <div class="kv"><span>来源地址</span><b>${esc(x.peer || '—')}</b></div>
          <div class="kv"><span>数据包 / 数据条数</span><b>${x.packets} / ${x.values}</b></div>
          <div class="kv"><span>协议版本</span><b>${esc(x.protocol || '按 Flag 识别')}</b></div>
          <div class="kv"><span>允许的协议偏差</span><b>${x.allow_all ? '全部允许' : x.allow.length ? x.allow.map((a) => `<span title="${esc(a.name)}">${esc(a.label)}</span>`).join('、') : '不允许(严格按标准)'}</b></div>
        <h2>协议偏差(已接收数据包中出现的次数)</h2><table class="data" id="dev-deviations"><tr><th>偏差</th><th>说明</th><th>次数</th><th>是否允许</th></tr>${x.deviations.length ? x.deviations.map((v) =>
          `<tr><td>${esc(v.name)}</td><td>${esc(v.label)}</td><td>${v.count}</td><td>${v.allowed ? '允许' : '<span class="off">未允许</span>'}</td></tr>`).join('') : '<tr><td colspan="4" class="muted">未出现协议偏差</td></tr>'}</table>
        <h2>拒收记录(网关本次运行以来)</h2><table class="data" id="dev-refused"><tr><th>原因</th><th>说明</th><th>次数</th></tr>${rf ? rf.by_reason.map((r) =>
          `<tr><td>${esc(r.reason)}</td><td>${esc(r.label)}</td><td class="off">${r.count}</td></tr>`).join('') : '<tr><td colspan="3" class="muted">无拒收</td></tr>'}</table>
          ${rf ? `<p class="muted" id="dev-refused-last">最近一次:${bj(rf.last.at)} ${esc(rf.last.label)}${rf.last.detail ? `(${esc(rf.last.detail)})` : ''},来源 ${esc(rf.last.peer)}</p>` : ''}`;
      $('cmd-mn').value = x.mn;
      $('cmd-mn-name').innerHTML = `${esc(x.mn)} ${esc(x.site_name || x.site)} <span class="${x.online ? 'on' : 'off'}">${x.online ? '在线' : '离线(命令需设备在线)'}</span>`;
      $('cmd-send').disabled = false;
      $('cmd-result').textContent = '';
      await showCmds();
    };
    let timer = null;
    $('dev-q').oninput = () => { clearTimeout(timer); timer = setTimeout(() => { page = 1; list().catch(fail); }, 250); };
    $('dev-kind').onchange = $('dev-online').onchange = () => { page = 1; list().catch(fail); };
    const local = (ms) => new Date(ms + 8 * 3600e3).toISOString().slice(0, 16);
    const hour = Math.floor(Date.now() / 3600e3) * 3600e3;
    $('cmd-begin').value = local(hour - 6 * 3600e3); $('cmd-end').value = local(hour - 3600e3);
    const hj = (v) => v.replace(/[-T:]/g, '') + '00';
    const showCmds = async () => {
      const mn = $('cmd-mn').value;
      if (!mn) return;
      const cmds = await api(`/api/v1/devices/${encodeURIComponent(mn)}/commands?limit=10`);
      const rtn = (c) => (c == null ? '等待' : c === 1 ? '成功(1)' : `代码 ${c}`);
      $('cmd-table').innerHTML = '<tr><th>QN</th><th>命令</th><th>发送时间</th><th>9011 应答</th><th>9012 执行结果</th></tr>' + (cmds.length ? cmds.map((c) =>
        `<tr><td>${esc(c.qn)}</td><td>${esc(c.cn)}</td><td>${new Date(c.sent_ms + 8 * 3600e3).toISOString().slice(0, 16).replace('T', ' ')}</td>
         <td class="cmd-qnrtn">${rtn(c.qn_rtn)}</td><td class="cmd-exertn">${rtn(c.exe_rtn)}</td></tr>`).join('') : '<tr><td colspan="5" class="muted">尚未向该设备发送命令</td></tr>');
    };
    $('cmd-send').onclick = async () => {
      const mn = $('cmd-mn').value;
      if (!mn) return;
      $('cmd-send').disabled = true;
      $('cmd-result').textContent = '发送中…';
      try {
        const r = await api(`/api/v1/devices/${encodeURIComponent(mn)}/commands`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ cn: '2061', cp: { BeginTime: hj($('cmd-begin').value), EndTime: hj($('cmd-end').value) } }) });
        $('cmd-result').textContent = `已发送 QN=${r.qn}`;
      } catch (e) { $('cmd-result').innerHTML = `<span class="error">发送失败:${esc(e.message)}</span>`; }
      $('cmd-send').disabled = false;
      await showCmds();
      setTimeout(showCmds, 1500); setTimeout(showCmds, 4000);
    };
    await list();
    if (staff) {
      const r = await api('/api/v1/refusals?per_page=200');
      $('dev-refusals').innerHTML = '<tr><th>MN</th><th>登记</th><th>点位</th><th>拒收次数</th><th>按原因</th><th>最近一次</th><th>原因</th><th>详情</th><th>来源地址</th></tr>' + (r.items.length ? r.items.map((x) =>
        `<tr><td>${esc(x.mn)}</td><td>${x.registered ? '已登记' : '<span class="off">未登记</span>'}</td><td>${esc(x.site || '—')}</td><td>${x.total}</td><td>${esc(x.by_reason)}</td><td>${bj(x.last_at)}</td>
         <td>${esc(x.last_reason_cn)}</td><td>${esc(x.last_detail || '—')}</td><td>${esc(x.last_peer)}</td></tr>`).join('') : '<tr><td colspan="9" class="muted">网关本次运行以来没有拒收数据包</td></tr>');
    }
  }

  // ---- 规划指标 ----
  async function planPage() {
    const year = new Date().getFullYear();
    const canEnter = ['admin', 'planning'].includes(me.role);
    $('page').innerHTML = `<div class="panel"><h2>规划指标(“十四五”生态环境保护规划 专栏二)</h2>
      年份 <select id="ind-year">${[year, year - 1, year - 2, year - 3, year - 4, year - 5].filter((y) => y >= 2021).map((y) => `<option>${y}</option>`).join('')}</select>
      <span class="muted">评价:2025 年及以前按所选年份的数值,之后按 2025 年(目标年)的数值对照目标;年度进行中的数值只显示进度(截至目前、比例、推算),在已无法达标或已确定达标时才评价;自动计算的指标来自监测数据,其余由责任部门填报</span>
      <table class="data" id="ind-table"></table></div>
      ${canEnter ? `<div class="panel"><h2>填报指标值</h2><div class="form">指标 <select id="ind-code"></select> 年份 <input class="f" id="ind-y" type="number" value="${year - 1}" style="width:80px">
        数值 <input class="f" id="ind-value" style="width:100px"> 来源 <input class="f w" id="ind-source" placeholder="如:县林业局年报">
        佐证材料 <input class="f w" id="ind-evidence" placeholder="文号、文件名或链接"> <label><input type="checkbox" id="ind-target"> 上级下达目标值</label>
        <button class="act" id="ind-save">提交</button> <span id="ind-msg"></span></div></div>` : ''}
      <div class="panel"><h2>填报与佐证记录</h2><table class="data" id="ind-entries"><tr><td class="muted">点击指标行查看</td></tr></table></div>`;
    const COMP = { manual: '部门填报', good_days: '监测计算:优良天数', sections_class_iii_share: '监测计算:断面达标', drinking_water_compliance_urban: '监测计算:城镇水源',
      drinking_water_compliance_township: '监测计算:乡镇水源' };
    const showEntries = async (code) => {
      const list = await api(`/api/v1/indicators/${encodeURIComponent(code)}/entries`);
      $('ind-entries').innerHTML = '<tr><th>指标</th><th>年份</th><th>类型</th><th>数值</th><th>来源</th><th>佐证</th><th>填报人</th><th>时间</th></tr>' + (list.length ? list.map((e) =>
        `<tr><td>${esc(e.code)}</td><td>${e.year}</td><td>${e.kind === 'target' ? '目标' : '数值'}</td><td>${e.value}</td><td>${esc(e.source)}</td><td>${esc(e.evidence || '—')}</td><td>${esc(e.entered_by)}</td><td>${bj(e.entered_at)}</td></tr>`).join('')
        : '<tr><td colspan="8" class="muted">暂无填报记录</td></tr>');
    };
    const load = async () => {
      const y = Number($('ind-year').value);
      const r = await api(`/api/v1/indicators?year=${y}`);
      const years = []; for (let k = 2020; k <= y; k++) years.push(String(k));
      $('ind-table').innerHTML = `<tr><th>编号</th><th>指标</th><th>单位</th><th>属性</th><th>来源</th>${years.map((k) => `<th>${k}</th>`).join('')}<th>2025目标</th><th>评价</th><th>进度(年度进行中)</th><th>趋势</th></tr>` +
        r.indicators.map((i) => {
          const by = {}; i.years.forEach((v) => { by[v.year] = v; });
          return `<tr data-id="${esc(i.code)}"><td>${esc(i.code)}</td><td>${esc(i.name)}</td><td>${esc(i.unit)}</td><td>${esc(i.type)}</td>
            <td>${esc(COMP[i.computed_from] || i.computed_from)}</td>${years.map((k) => { const v = by[k];
              return `<td class="ind-v${v?.partial ? ' partial' : ''}" data-year="${k}" title="${v ? esc(`${v.origin} ${v.source || ''} ${v.evidence || ''} ${v.detail || ''}`) : ''}">${v ? v.value : '—'}${v?.partial ? '<span class="muted">(进行中)</span>' : ''}</td>`; }).join('')}
            <td>${esc(indTarget(i.target))}</td><td class="ind-verdict" style="white-space:nowrap">${indBadge(i.verdict)}${i.verdict_year !== y && i.verdict !== 'target_pending' ? `<br><span class="muted">按${i.verdict_year}年</span>` : ''}</td>
            <td class="ind-progress">${i.progress ? esc(indProgress(i.progress, i.unit, i.computed_from === 'good_days')) : '—'}</td>
            <td>${{ improving: '向好', worsening: '变差', stable: '持平' }[i.trend_complete] || '—'}</td></tr>`;
        }).join('');
      $('ind-table').querySelectorAll('tr[data-id]').forEach((tr) => { tr.onclick = () => showEntries(tr.dataset.id); });
      if (canEnter && !$('ind-code').options.length) {
        $('ind-code').innerHTML = r.indicators.map((i) => `<option value="${esc(i.code)}">${esc(i.code)} ${esc(i.name)}${i.computed_from === 'manual' ? '' : '(监测计算)'}</option>`).join('');
      }
    };
    $('ind-table').classList.add('clickable');
    $('ind-year').onchange = load;
    if (canEnter) {
      $('ind-save').onclick = async () => {
        const code = $('ind-code').value;
        try {
          await api(`/api/v1/indicators/${encodeURIComponent(code)}/entries`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ year: Number($('ind-y').value), value: $('ind-value').value.trim() === '' ? null : Number($('ind-value').value), source: $('ind-source').value,
              evidence: $('ind-evidence').value, target: $('ind-target').checked }) });
          $('ind-msg').textContent = '已保存';
          await load(); await showEntries(code);
        } catch (e) { $('ind-msg').textContent = `保存失败:${e.message}`; }
      };
    }
    await load();
  }

  // ---- shared: year / month selectors ----
  function periodPicker(prefix, withMonth) {
    const y = new Date().getFullYear(), m = new Date().getMonth() + 1;
    return `年份 <select id="${prefix}-year">${[y, y - 1, y - 2].map((k) => `<option>${k}</option>`).join('')}</select>
      ${withMonth ? `月份 <select id="${prefix}-month"><option value="">全年</option>${Array.from({ length: 12 }, (_, i) => `<option value="${i + 1}"${i + 1 === m && withMonth === 'month' ? ' selected' : ''}>${i + 1}月</option>`).join('')}</select>` : ''}`;
  }
  const periodQuery = (prefix) => `year=${$(`${prefix}-year`).value}${$(`${prefix}-month`)?.value ? `&month=${$(`${prefix}-month`).value}` : ''}`;
  const pct = (v) => (v == null ? '—' : `${Number(v).toFixed(1)}%`);
  const num = (v, d = 1) => (v == null ? '—' : Number(v).toFixed(d));
  const mp = (list) => (list && list.length ? list.map((x) => `${esc(x.name)}${x.multiple != null ? `(超III类 ${x.multiple} 倍)` : ''}`).join('、') : '—');

  // ---- 水 ----
  async function waterPage() {
    $('page').innerHTML = `<div class="panel">${periodPicker('wa')} <span class="muted">按月评价:日均值的月均值定类(GB 3838-2002,环办〔2011〕22号)</span> <a class="muted" id="wa-xlsx">导出 Excel</a></div>
      <div class="row"><div class="panel"><h2>断面水质达到或优于III类比例</h2><div id="wa-share" class="big">—</div><div id="wa-share-text" style="text-align:center"></div></div>
        <div class="panel"><h2>饮用水水源地达标率</h2><div id="wa-dw"></div></div>
        <div class="panel"><h2>图例</h2><div>${['I', 'III', 'IV', 'V', '劣V'].map((c) => `${waterBadge(c === 'I' ? 'I' : c)}${c === 'I' ? '<span class="muted">(I–II)</span>' : ''}`).join(' ')}</div>
          <p class="muted">单元格为当月水质类别;红框为未达到目标类别。悬停查看主要污染物及超标倍数。</p></div></div>
      <div class="panel"><h2>各河流水质状况</h2><span class="muted">按河流的断面评价(环办〔2011〕22号:断面数 ≥ 5 按类别比例,不足 5 个按断面均值定类)</span><table class="data" id="wa-rivers"></table></div>
      <div class="panel"><h2>地表水断面逐月水质类别(对照目标)</h2><table class="data wgrid" id="wa-grid"></table></div>
      <div class="panel"><h2 id="wa-trend-title">断面主要污染物逐月均值</h2>断面 <select id="wa-section"></select> <span class="muted">点击上表断面行切换;月均值 = 日均值的算术平均,虚线为III类标准限值</span>
        <div id="wa-trend" class="chart"></div></div>
      <div class="panel"><h2>饮用水水源地逐月达标情况</h2><table class="data wgrid" id="wa-sources"></table></div>
      <div class="panel"><h2>湖库营养状态(综合营养状态指数 TLI)</h2><table class="data" id="wa-tli"></table></div>`;
    const months = Array.from({ length: 12 }, (_, i) => i + 1);
    let lastWater = null;
    const load = async () => {
      const y = $('wa-year').value;
      $('wa-xlsx').href = `/api/v1/reports/water?year=${y}&format=xlsx`;
      const r = await api(`/api/v1/reports/water?year=${y}`);
      lastWater = r;
      const sh = r.share_iii_or_better;
      $('wa-share').textContent = sh ? pct(sh.pct) : '—';
      $('wa-share-text').innerHTML = sh ? `参评断面 ${sh.evaluated} / ${sh.sections} 个,达到或优于III类 ${sh.at_or_better} 个<br><span class="muted">全县河流水质状况:${esc(r.river_status.status || '无数据')}</span>`
        : '<span class="muted">全县汇总指标仅对局内用户显示;下表为本乡镇(街道)的断面和水源地</span>';
      const dw = r.drinking_water;
      $('wa-dw').innerHTML = !dw.urban ? '<span class="muted">全县达标率仅对局内用户显示</span>' : [['城镇(县级及以上)', dw.urban], ['乡镇(千吨万人)', dw.township]].map(([n, c]) =>
        `<div class="kv"><span>${n}</span><b>${pct(c.rate_pct)}</b></div><div class="kv"><span class="muted">达标 / 评价 源·月;水源地(有数据)</span><span class="muted">${c.compliant} / ${c.assessed};${c.sources}(${c.sources_with_data})</span></div>`).join('');
      const STATUS_COLORS = { '优': '#00A0E9', '良好': '#00B050', '轻度污染': '#FFFF00', '中度污染': '#FF7E00', '重度污染': '#FF0000' };
      const names = {}; r.sections.forEach((x) => { names[x.site] = x.name; });
      $('wa-rivers').innerHTML = '<tr><th>河流</th><th>断面</th><th>参评断面</th><th>评价方法</th><th>水质类别</th><th>水质状况</th><th>I–III类比例</th><th>劣V类比例</th></tr>' + ((r.rivers || []).length ? r.rivers.map((x) =>
        `<tr data-river="${esc(x.river)}"><td>${esc(x.river)}</td><td>${x.sections.map((c) => esc(names[c] || c)).join('、')}</td><td>${x.sections_evaluated} / ${x.sections.length}</td>
         <td>${x.basis === 'share_of_sections' ? '断面类别比例' : x.basis === 'mean_of_sections' ? '断面均值定类' : '—'}</td><td>${x.class ? waterBadge(x.class) : '—'}</td>
         <td class="wa-river-status">${x.status ? `<span class="badge" style="background:${STATUS_COLORS[x.status] || '#888'}">${esc(x.status)}</span>` : '<span class="muted">无数据</span>'}</td>
         <td>${pct(x.iii_or_better_pct)}</td><td>${pct(x.worse_than_v_pct)}</td></tr>`).join('') : '<tr><td colspan="8" class="muted">无河流断面</td></tr>');
      const cell = (mo, target) => {
        if (!mo || !mo.class) return '<td class="wcell muted">—</td>';
        const miss = mo.met === false;
        return `<td class="wcell${miss ? ' miss' : ''}" style="background:${WATER_COLORS[mo.class]}" title="${esc(`${mo.period} ${mo.class}类 ${mo.status || ''} 目标${target || '—'}类 ${mo.met ? '达标' : '未达标'};主要污染物:${mp(mo.main_pollutants).replace(/<[^>]+>/g, '')};${mo.days}天`)}">${esc(mo.class)}</td>`;
      };
      $('wa-grid').innerHTML = `<tr><th>断面</th><th>河流</th><th>目标</th>${months.map((m) => `<th>${m}月</th>`).join('')}<th>年度</th><th>达标</th><th>主要污染物(超标倍数)</th></tr>` +
        r.sections.map((s) => {
          const by = {}; s.months.forEach((mo) => { by[Number(mo.period.slice(5, 7))] = mo; });
          return `<tr data-site="${esc(s.site)}"><td>${esc(s.name)}</td><td>${esc(s.river || '—')}</td><td>${esc(s.target_class || '—')}</td>${months.map((m) => cell(by[m], s.target_class)).join('')}
            <td>${waterBadge(s.class)}</td><td class="${s.met === false ? 'off' : s.met ? 'on' : ''}">${s.met == null ? '—' : s.met ? '达标' : '未达标'}</td><td>${mp(s.main_pollutants)}</td></tr>`;
        }).join('');
      const scope = { urban: '城镇', township: '乡镇' };
      $('wa-sources').innerHTML = `<tr><th>水源地</th><th>类型</th>${months.map((m) => `<th>${m}月</th>`).join('')}<th>达标月 / 评价月</th><th>达标率</th></tr>` +
        dw.sources.map((s) => {
          const by = {}; s.months.forEach((mo) => { by[Number(mo.month.slice(5, 7))] = mo; });
          return `<tr data-site="${esc(s.site)}"><td>${esc(s.name)}</td><td>${scope[s.scope] || esc(s.scope)}</td>${months.map((m) => { const mo = by[m];
            return !mo || !mo.class ? '<td class="wcell muted">—</td>'
              : `<td class="wcell${mo.compliant ? '' : ' miss'}" style="background:${WATER_COLORS[mo.class]}" title="${esc(`${mo.month} ${mo.class}类 ${mo.compliant ? '达标' : '不达标'}${mo.failed.length ? ` 超标项目:${mo.failed.join('、')}` : ''};${mo.days}天`)}">${mo.compliant ? '✓' : '✗'}</td>`; }).join('')}
            <td>${s.compliant_months} / ${s.assessed_months}</td><td>${s.assessed ? pct(s.rate_pct) : '<span class="muted">未评价</span>'}</td></tr>`;
        }).join('');
      const lakes = [...r.sections.map((s) => ({ name: s.name, kind: '断面', tli: s.tli })), ...dw.sources.map((s) => ({ name: s.name, kind: '水源地', tli: s.tli }))].filter((x) => x.tli);
      $('wa-tli').innerHTML = '<tr><th>湖库</th><th>类型</th><th>TLI</th><th>营养状态</th><th>说明</th></tr>' + (lakes.length ? lakes.map((x) =>
        `<tr><td>${esc(x.name)}</td><td>${x.kind}</td><td>${x.tli.value ?? '—'}</td><td>${esc(x.tli.state || '无法评价')}</td>
         <td>${x.tli.missing.length ? `<span class="off">缺少 ${esc(x.tli.missing.join('、'))} 的监测数据,不作估算</span>` : '—'}</td></tr>`).join('')
        : '<tr><td colspan="5" class="muted">无湖库点位</td></tr>');
    };
    // Trend of a section's main pollutants: the month reports' period means (each month's
    // `/api/v1/reports/water?year=&month=`, cached server-side), fetched once per year.
    const ITEMS = { CODMn: ['高锰酸盐指数', 6], NH3N: ['氨氮', 1.0], TP: ['总磷', 0.2], COD: ['化学需氧量', 20], BOD5: ['五日生化需氧量', 4],
      DO: ['溶解氧', 5], TN: ['总氮', 1.0] };
    const perMonth = {};
    const monthReports = (y) => {
      if (!perMonth[y]) {
        const now = new Date(Date.now() + 8 * 3600e3);
        const last = Number(y) === now.getUTCFullYear() ? now.getUTCMonth() + 1 : 12;
        perMonth[y] = Promise.all(months.map((m) => (m <= last ? api(`/api/v1/reports/water?year=${y}&month=${m}`).catch(() => null) : null)));
      }
      return perMonth[y];
    };
    let trendSeq = 0;
    const trend = async () => {
      const n = ++trendSeq;
      const y = $('wa-year').value, site = $('wa-section').value;
      if (!site || !yearRep) return;
      const sec = yearRep.sections.find((x) => x.site === site);
      document.querySelectorAll('#wa-grid tr[data-site]').forEach((tr) => tr.classList.toggle('sel', tr.dataset.site === site));
      const reps = await monthReports(y);
      if (n !== trendSeq) return;
      const means = reps.map((r) => r?.sections.find((x) => x.site === site)?.means || {});
      // Main pollutants of the year or any month; without any, the usual river items.
      const named = {};
      [...(sec?.main_pollutants || []), ...(sec?.months || []).flatMap((mo) => mo.main_pollutants)].forEach((x) => { named[x.item] = x.name; });
      let items = Object.keys(named);
      if (!items.length) items = ['CODMn', 'NH3N', 'TP'];
      items = items.filter((k) => means.some((m) => m[k] != null));
      $('wa-trend-title').textContent = `断面主要污染物逐月均值:${sec?.name || site}(${y}年)`;
      const c = chart('wa-trend');
      c.setOption({
        tooltip: { trigger: 'axis' }, legend: { textStyle: { color: '#cfe0ff' } },
        xAxis: { type: 'category', data: months.map((m) => `${m}月`), axisLabel: { color: '#9fc3ee' } },
        yAxis: { type: 'value', name: 'mg/L', axisLabel: { color: '#9fc3ee' } },
        series: items.map((k) => ({ name: named[k] || ITEMS[k]?.[0] || k, type: 'line', connectNulls: false, data: means.map((m) => m[k] ?? null),
          markLine: ITEMS[k] ? { symbol: 'none', silent: true, lineStyle: { type: 'dashed' }, label: { formatter: `III类(河流) ${ITEMS[k][1]}` }, data: [{ yAxis: ITEMS[k][1] }] } : undefined })),
      }, true);
    };
    let yearRep = null;
    const loadAll = async () => {
      await load();
      yearRep = lastWater;
      const keep = $('wa-section').value;
      $('wa-section').innerHTML = yearRep.sections.map((x) => `<option value="${esc(x.site)}">${esc(x.name)}</option>`).join('');
      if (yearRep.sections.some((x) => x.site === keep)) $('wa-section').value = keep;
      document.querySelectorAll('#wa-grid tr[data-site]').forEach((tr) => { tr.onclick = () => { $('wa-section').value = tr.dataset.site; trend(); }; });
      await trend();
    };
    $('wa-section').onchange = trend;
    $('wa-year').onchange = loadAll;
    await loadAll();
  }

  // ---- 污染源 ----
  async function sourcesPage() {
    $('page').innerHTML = `<div class="panel"><h2>实时监测数据(各排口最新值)</h2><button class="act" id="so-live-refresh">刷新</button> <span class="muted" id="so-live-note"></span>
        <p class="muted" id="so-flags"></p><table class="data" id="so-live"></table></div>
      <div class="panel">${periodPicker('so', 'month')} <span class="muted" id="so-note"></span> <a class="muted" id="so-xlsx">导出 Excel</a></div>
      <div class="panel"><h2>数据传输率与有效率(小时数据)</h2><span class="muted" id="so-rates-note"></span><table class="data" id="so-rates"></table></div>
      <div class="panel"><h2>企业排口:有效小时、超标事件、排放总量</h2><table class="data clickable" id="so-table"></table></div>
      <div class="panel" id="so-detail"><p class="muted">选择一个排口查看污染物与超标事件</p></div>`;
    const flagCell = (f) => (f ? `<span class="${f.flag === 'N' ? '' : 'off'}" title="${esc(f.meaning)}">${esc(f.flag || '—')} ${esc(f.name)}</span>` : '—');
    const over = (x) => (x === true ? ' class="off"' : '');
    const live = async () => {
      const r = await api('/api/v1/sources/live');
      $('so-live-note').textContent = `更新于 ${bj(r.now)};实测值为实际含氧量下的浓度,折算值按基准氧含量折算(GB 13271 等:C × (21 − O₂基准)/(21 − O₂实测)),与限值比较的是折算值`;
      $('so-flags').innerHTML = '数据标记(HJ 212-2017 表8):' + r.flags.map((f) => `<b>${esc(f.flag)}</b> ${esc(f.name)}`).join(';');
      const rows = [];
      r.enterprises.forEach((e) => e.outlets.forEach((o) => {
        const dev = o.devices.length ? o.devices.map((d) => `<span class="${d.online ? 'on' : 'off'}">${d.online ? '在线' : '离线'}</span>`).join(' ') : '<span class="muted">无设备</span>';
        const head = `<td rowspan="${Math.max(1, o.pollutants.length + o.parameters.length)}">${esc(e.name)}<br>${esc(o.name)} ${dev}<br><span class="muted">${o.reference_o2_pct != null ? `基准氧 ${o.reference_o2_pct}%` : ''}</span></td>`;
        let first = true;
        const lead = () => { const h = first ? head : ''; first = false; return h; };
        o.pollutants.forEach((p) => {
          const rt = p.rtd, hr = p.hour;
          const lim = `${p.limit_upper ?? ''}${p.limit_lower != null ? ` 下限 ${p.limit_lower}` : ''}`;
          rows.push(`<tr class="so-live-row" data-site="${esc(o.site)}" data-code="${esc(p.code)}">${lead()}<td>${esc(p.name)} <span class="muted">${esc(p.code)}</span></td>
            <td${over(rt && !p.o2_corrected ? rt.exceeds : null)}>${rt?.measured ?? '—'}</td><td class="so-zs"${over(rt && p.o2_corrected ? rt.exceeds : null)}>${p.o2_corrected ? (rt?.corrected ?? '—') + (rt?.corrected_origin === 'computed' ? '<span class="muted">(计算)</span>' : '') : '<span class="muted">不折算</span>'}</td>
            <td title="${esc(p.limit_source)}">${lim} ${esc(p.unit)}</td><td class="so-flag">${rt ? flagCell(rt.flag) : '—'}</td><td>${rt ? bj(rt.time) : '<span class="muted">24小时内无实时数据</span>'}</td>
            <td${over(hr?.exceeds)}>${hr ? `${hr.value ?? '无效'}${hr.corrected && hr.measured != null ? ` <span class="muted">(实测 ${hr.measured})</span>` : ''}` : '—'}</td><td>${hr ? flagCell(hr.flag) : '—'}</td><td>${hr ? bj(hr.hour) : '—'}</td></tr>`);
        });
        o.parameters.forEach((p) => {
          rows.push(`<tr>${lead()}<td>${esc(p.name)} <span class="muted">${esc(p.code)}</span></td><td>${p.value ?? '—'} <span class="muted">${esc(p.unit)}</span></td><td></td><td></td><td>${flagCell(p.flag)}</td><td>${bj(p.time)}</td><td></td><td></td><td></td></tr>`);
        });
        if (first) rows.push(`<tr>${lead()}<td colspan="9" class="muted">无监测数据</td></tr>`);
      }));
      $('so-live').innerHTML = '<tr><th>企业 / 排口</th><th>污染物</th><th>实测值</th><th>折算值</th><th>限值</th><th>数据标记</th><th>实时数据时间</th><th>最近小时均值(折算)</th><th>小时标记</th><th>小时</th></tr>' +
        (rows.length ? rows.join('') : '<tr><td colspan="10" class="muted">无可查看的排口</td></tr>');
    };
    $('so-live-refresh').onclick = () => live().catch((e) => { $('so-live-note').textContent = `加载失败:${e.message}`; });
    const ratePct = (x) => (x == null ? '—' : `${(x * 100).toFixed(1)}%`);
    const rateRow = (x, cls, name) => `<tr class="${cls}"><td>${name}</td><td>${x.expected}</td><td>${x.received}</td><td>${x.valid}</td><td>${ratePct(x.transmission_rate)}</td><td>${ratePct(x.validity_rate)}</td>
      <td class="${x.meets_threshold === false ? 'off' : x.meets_threshold ? 'on' : ''}">${ratePct(x.effective_rate)}</td><td>${x.meets_threshold == null ? '—' : x.meets_threshold ? '达标' : '<span class="off">未达标</span>'}</td></tr>`;
    const rates = async () => {
      const r = await api(`/api/v1/sources/rates?${periodQuery('so')}`);
      $('so-rates-note').textContent = `${r.from} 至 ${r.to};传输率 = 实收小时 / 应收小时,有效率 = 有效小时 / 实收小时,传输有效率 = 传输率 × 有效率,要求 ≥ ${Math.round(r.threshold * 100)}%`;
      $('so-rates').innerHTML = '<tr><th>企业 / 排口</th><th>应收小时</th><th>实收小时</th><th>有效小时</th><th>传输率</th><th>有效率</th><th>传输有效率</th><th>是否达标</th></tr>' +
        (r.enterprises.length ? r.enterprises.map((e) => rateRow(e, 'so-rate-ent', `<b>${esc(e.name)}</b>`) + e.outlets.map((o) => rateRow(o, 'so-rate-outlet', `&nbsp;&nbsp;${esc(o.name)}`)).join('')).join('')
          : '<tr><td colspan="8" class="muted">无可查看的排口</td></tr>');
    };
    const KN = { flue_gas: '废气', wastewater: '废水' };
    let rep = null;
    const show = (site) => {
      let o = null, ent = null;
      rep.enterprises.forEach((e) => e.outlets.forEach((x) => { if (x.site === site) { o = x; ent = e; } }));
      if (!o) return;
      $('so-table').querySelectorAll('tr[data-id]').forEach((tr) => tr.classList.toggle('sel', tr.dataset.id === site));
      const pname = {}; o.pollutants.forEach((p) => { pname[p.code] = p.name; });
      $('so-detail').innerHTML = `<h2>${esc(ent.name)} · ${esc(o.name)}(${esc(o.site)})</h2>
        <p class="muted">执行标准:${esc(o.standard || '—')}${o.reference_o2_pct != null ? `;基准氧含量 ${o.reference_o2_pct}%` : ''};有效小时 ${o.hours_valid} / 有数据小时 ${o.hours_with_data}</p>
        <div class="row"><div class="panel"><h2>污染物</h2><table class="data" id="so-pollutants"><tr><th>污染物</th><th>限值</th><th>有效小时</th><th>超标小时</th><th>最大值</th><th>最大超标倍数</th><th>排放量 kg</th></tr>${o.pollutants.map((p) =>
          `<tr><td>${esc(p.name)} <span class="muted">${esc(p.code)}</span></td><td title="${esc(p.limit_source || '')}">${p.limit_upper ?? ''}${p.limit_lower != null ? ` 下限 ${p.limit_lower}` : ''} ${esc(p.unit)}</td><td>${p.hours_valid} / ${p.hours_with_data}</td>
           <td class="${p.hours_exceeding ? 'off' : ''}">${p.hours_exceeding}</td><td>${p.max_value ?? '—'}</td><td>${p.worst_multiple ?? '—'}</td><td>${p.total_kg ?? '—'}</td></tr>`).join('')}
          ${o.flow_m3 != null ? `<tr><td>废气/废水流量</td><td></td><td></td><td></td><td></td><td></td><td>${o.flow_m3} m³</td></tr>` : ''}</table></div>
        <div class="panel"><h2>超标事件</h2><table class="data" id="so-events"><tr><th>污染物</th><th>开始</th><th>结束</th><th>小时数</th><th>峰值</th><th>限值</th><th>超标倍数</th></tr>${o.events.length ? o.events.map((e) =>
          `<tr><td>${esc(pname[e.code] || e.code)}</td><td>${bj(e.start)}</td><td>${e.open || !e.end ? '<span class="off">持续中</span>' : bj(e.end)}</td><td>${e.hours}</td><td>${e.peak}</td><td>${e.limit}${e.bound === 'lower' ? '(下限)' : ''}</td><td>${e.peak_multiple ?? '—'}</td></tr>`).join('')
          : '<tr><td colspan="7" class="muted">本期无超标事件</td></tr>'}</table></div></div>`;
    };
    let seq = 0; // a later period wins over an earlier one still in flight
    const load = async () => {
      const n = ++seq;
      $('so-xlsx').href = `/api/v1/reports/sources?${periodQuery('so')}&format=xlsx`;
      const r = await api(`/api/v1/reports/sources?${periodQuery('so')}`);
      if (n !== seq) return;
      rep = r;
      $('so-note').textContent = `${rep.from} 至 ${rep.to},共 ${rep.period_hours} 小时;超标倍数 = (C − 限值) / 限值`;
      const rows = [];
      rep.enterprises.forEach((e) => e.outlets.forEach((o) => rows.push([e, o])));
      const kg = (o) => o.pollutants.filter((p) => p.total_kg != null).map((p) => `${esc(p.name)} ${p.total_kg}`).join(';') || '—';
      $('so-table').innerHTML = '<tr><th>企业</th><th>排口</th><th>类型</th><th>有效小时 / 有数据小时</th><th>超标事件</th><th>超标小时</th><th>最大超标倍数</th><th>排放总量 kg</th></tr>' + rows.map(([e, o]) =>
        `<tr data-id="${esc(o.site)}"><td>${esc(e.name)}</td><td>${esc(o.name)}</td><td>${KN[o.kind] || esc(o.kind)}</td><td>${o.hours_valid} / ${o.hours_with_data}</td>
         <td class="${o.events_count ? 'off' : ''}">${o.events_count}</td><td>${o.event_hours}</td><td>${o.worst_multiple ?? '—'}</td><td>${kg(o)}</td></tr>`).join('');
      $('so-table').querySelectorAll('tr[data-id]').forEach((tr) => { tr.onclick = () => show(tr.dataset.id); });
      const first = rows.find(([, o]) => o.events_count) || rows.find(([, o]) => o.hours_with_data) || rows[0];
      if (first) show(first[1].site);
    };
    const period = () => Promise.all([load(), rates()]);
    $('so-year').onchange = period; $('so-month').onchange = period;
    await Promise.all([live(), period()]);
  }

  // ---- 油烟 ----
  async function fumePage() {
    $('page').innerHTML = `<div class="panel">${periodPicker('fu', 'month')} <span class="muted" id="fu-note"></span></div>
      <div class="row"><div class="panel"><h2>油烟在线监控概况</h2><div id="fu-fleet"></div></div>
        <div class="panel"><h2>餐饮单位分布</h2><div id="fu-map" class="chart"></div></div></div>
      <div class="panel"><h2>餐饮单位(点击表头排序)</h2><table class="data sortable" id="fu-table"></table></div>`;
    const [sites, geo] = await Promise.all([api('/api/v1/sites?kind=fume&per_page=10000'), boundaryRegistered ? null : api('/api/v1/boundary').catch(() => null)]);
    if (geo) { echarts.registerMap('county', typeof geo === 'string' ? JSON.parse(geo) : geo); boundaryRegistered = true; }
    const where = {}; sites.items.forEach((x) => { where[x.code] = x; });
    const COLS = [['name', '餐饮单位'], ['town', '乡镇'], ['days_with_data', '有数据天数'], ['online_rate', '在线率 %'], ['readings', '读数'], ['readings_over', '超标读数'],
      ['hours_over', '超标小时'], ['max_value', '最大浓度 mg/m³'], ['unpurified_occurrences', '风机开净化器关(次)'], ['unpurified_minutes', '未净化分钟'],
      ['purifier_run_hours_since_cleaning', '净化器累计运行 h'], ['cleaning_due', '应清洗']];
    let list = [], key = 'readings_over', desc = true;
    const draw = () => {
      const sorted = [...list].sort((a, b) => { const x = a[key] ?? -1, y = b[key] ?? -1; return (x < y ? -1 : x > y ? 1 : 0) * (desc ? -1 : 1); });
      $('fu-table').innerHTML = `<tr>${COLS.map(([k, n]) => `<th data-k="${k}">${n}${k === key ? (desc ? ' ▼' : ' ▲') : ''}</th>`).join('')}</tr>` + sorted.map((r) =>
        `<tr><td>${esc(r.name)}</td><td title="${esc(r.town)}">${esc(where[r.site]?.town_name || r.town)}</td><td>${r.days_with_data}</td><td>${num(r.online_rate)}</td><td>${r.readings}</td><td class="${r.readings_over ? 'off' : ''}">${r.readings_over}</td>
         <td>${r.hours_over}</td><td>${r.max_value ?? '—'}</td><td class="${r.unpurified_occurrences ? 'off' : ''}">${r.unpurified_occurrences}</td><td>${r.unpurified_minutes}</td>
         <td>${num(r.purifier_run_hours_since_cleaning)}</td><td>${r.cleaning_due ? '<span class="off">是</span>' : '否'}</td></tr>`).join('');
      $('fu-table').querySelectorAll('th[data-k]').forEach((th) => { th.onclick = () => { if (key === th.dataset.k) desc = !desc; else { key = th.dataset.k; desc = true; } draw(); }; });
    };
    let seq = 0; // a later period wins over an earlier one still in flight
    const load = async () => {
      const n = ++seq;
      const rep = await api(`/api/v1/reports/sources?${periodQuery('fu')}`);
      if (n !== seq) return;
      const f = rep.fume;
      if (!f) { $('fu-note').textContent = '无可查看的餐饮单位'; return; }
      $('fu-note').textContent = `${rep.from} 至 ${rep.to};限值 ${f.limit_mg_m3} mg/m³(GB 18483-2001);评价 ${f.days_evaluated} 天`;
      $('fu-fleet').innerHTML = [['监控餐饮单位', f.monitored], ['有数据单位', f.reporting], ['在线率', pct(f.online_rate)], ['超标单位', f.restaurants_with_exceedances],
        ['超标读数 / 超标小时', `${f.readings_over} / ${f.hours_over}`], ['风机开、净化器关(单位 / 次 / 分钟)', `${f.unpurified_restaurants} / ${f.unpurified_occurrences} / ${f.unpurified_minutes}`],
        ['净化器应清洗', f.cleaning_due]].map(([k, v]) => `<div class="kv"><span>${k}</span><b class="fu-fig">${esc(v)}</b></div>`).join('');
      list = f.restaurants;
      draw();
      const colour = (r) => (r.readings_over || r.unpurified_occurrences ? '#FF0000' : r.days_with_data ? '#00E400' : '#6d87a8');
      const pts = list.filter((r) => where[r.site]).map((r) => ({ name: r.name, value: [where[r.site].lon, where[r.site].lat], itemStyle: { color: colour(r) }, r }));
      chart('fu-map').setOption({
        tooltip: { formatter: (p) => `${esc(p.data.name)}<br>在线率 ${num(p.data.r.online_rate)}%<br>超标读数 ${p.data.r.readings_over};未净化 ${p.data.r.unpurified_occurrences} 次` },
        geo: { map: boundaryRegistered ? 'county' : undefined, roam: true, itemStyle: { areaColor: '#123f7d', borderColor: '#4fa3ff' }, label: { show: false }, emphasis: { disabled: true } },
        series: [{ type: 'scatter', coordinateSystem: 'geo', symbolSize: 5, data: pts }],
      });
    };
    $('fu-year').onchange = load; $('fu-month').onchange = load;
    await load();
  }

  // ---- 噪声 ----
  async function noisePage() {
    $('page').innerHTML = `<div class="panel">${periodPicker('no', 'year')} <span class="muted">昼间 06:00–22:00,夜间 22:00–次日06:00;等效声级能量平均(GB 3096-2008)</span> <a class="muted" id="no-xlsx">导出 Excel</a></div>
      <div class="panel"><h2>各乡镇(街道)噪声达标情况</h2><span class="muted">达标率 = 达标天(夜)数 / 监测天(夜)数,按该乡镇全部点位合计;超标点位指时段均值超过功能区限值的点位</span><table class="data" id="no-towns"></table></div>
      <div class="panel"><h2>噪声监测点位对照功能区限值</h2><table class="data clickable" id="no-table"></table></div>
      <div class="panel"><h2 id="no-title">逐日昼夜等效声级</h2><div id="no-chart" class="chart"></div></div>`;
    const ZONE = { 0: '0类', 1: '1类', 2: '2类', 3: '3类', '4a': '4a类', '4b': '4b类' };
    let rep = null;
    const show = (site) => {
      const p = rep.points.find((x) => x.site === site);
      if (!p) return;
      $('no-title').textContent = `逐日昼夜等效声级:${p.name}`;
      chart('no-chart').setOption({
        tooltip: { trigger: 'axis' }, legend: { textStyle: { color: '#cfe0ff' } },
        xAxis: { type: 'category', data: p.daily.map((d) => d.date), axisLabel: { color: '#9fc3ee' } }, yAxis: { type: 'value', name: 'dB(A)', min: 30, axisLabel: { color: '#9fc3ee' } },
        series: [{ name: '昼间 Ld', type: 'line', data: p.daily.map((d) => d.ld), markLine: { symbol: 'none', data: [{ yAxis: p.day_limit, name: '昼间限值' }], lineStyle: { color: '#FF7E00' } } },
          { name: '夜间 Ln', type: 'line', data: p.daily.map((d) => d.ln), markLine: { symbol: 'none', data: [{ yAxis: p.night_limit, name: '夜间限值' }], lineStyle: { color: '#FF0000' } } }],
      });
    };
    const lv = (v, lim, ok) => (v == null ? '—' : `<span class="${ok === false ? 'off' : 'on'}">${num(v)}</span> / ${lim}`);
    const load = async () => {
      $('no-xlsx').href = `/api/v1/reports/noise?${periodQuery('no')}&format=xlsx`;
      rep = await api(`/api/v1/reports/noise?${periodQuery('no')}`);
      $('no-towns').innerHTML = '<tr><th>乡镇(街道)</th><th>点位数(有数据)</th><th>昼间达标率</th><th>夜间达标率</th><th>昼间超标点位</th><th>夜间超标点位</th></tr>' + rep.towns.map((t) =>
        `<tr data-town="${esc(t.town)}"><td>${esc(t.town_name || t.town)}</td><td>${t.points.length}(${t.points_with_data})</td>
         <td>${pct(t.day_compliance_pct)} <span class="muted">(${t.day_compliant_days}/${t.days})</span></td><td>${pct(t.night_compliance_pct)} <span class="muted">(${t.night_compliant_days}/${t.nights})</span></td>
         <td class="${t.points_day_over ? 'off' : ''}">${t.points_day_over}</td><td class="${t.points_night_over ? 'off' : ''}">${t.points_night_over}</td></tr>`).join('');
      $('no-table').innerHTML = '<tr><th>点位</th><th>乡镇(街道)</th><th>功能区</th><th>昼间 Ld 均值 / 限值</th><th>夜间 Ln 均值 / 限值</th><th>昼间达标天数比例</th><th>夜间达标天数比例</th><th>有效昼 / 夜</th></tr>' + rep.points.map((p) =>
        `<tr data-id="${esc(p.site)}"><td>${esc(p.name)}</td><td>${esc(p.town_name || p.town)}</td><td>${ZONE[p.zone] || esc(p.zone)}</td><td>${lv(p.ld_mean, p.day_limit, p.ld_mean_compliant)}</td><td>${lv(p.ln_mean, p.night_limit, p.ln_mean_compliant)}</td>
         <td>${pct(p.day_compliance_pct)} <span class="muted">(${p.day_compliant_days}/${p.days})</span></td><td>${pct(p.night_compliance_pct)} <span class="muted">(${p.night_compliant_days}/${p.nights})</span></td><td>${p.days} / ${p.nights}</td></tr>`).join('');
      $('no-table').querySelectorAll('tr[data-id]').forEach((tr) => { tr.onclick = () => show(tr.dataset.id); });
      const first = rep.points.find((p) => p.days || p.nights) || rep.points[0];
      if (first) show(first.site);
    };
    $('no-year').onchange = load; $('no-month').onchange = load;
    await load();
  }

  // ---- 数据审核 ----
  async function auditPage() {
    const canMark = ['admin', 'monitoring'].includes(me.role);
    const sites = (await api('/api/v1/sites?per_page=10000')).items.filter((x) => x.kind !== 'fume');
    const siteOf = {}; sites.forEach((x) => { siteOf[x.code] = x; });
    // Pollutants are chosen by name (the site's codes with their HJ 212 names).
    const names = {}; sites.forEach((x) => (x.codes || []).forEach((c) => { names[c.code] = c.name; }));
    const cname = (c) => (c ? (names[c] ? `${names[c]}` : c) : '');
    const PERIOD_CN = { rtd: '实时值', min: '分钟值', hour: '小时值', day: '日均值', device: '设备' };
    const local = (ms) => new Date(ms + 8 * 3600e3).toISOString().slice(0, 16);
    $('page').innerHTML = `<div class="panel"><h2>查找监测数据</h2><div class="form">
      点位 <select id="au-site">${sites.map((x) => `<option value="${esc(x.code)}">${esc(x.name)}(${esc(KIND_NAMES[x.kind] || x.kind)})</option>`).join('')}</select>
      污染物 <select id="au-code"></select>
      数据类型 <select id="au-period"><option value="hour">小时值</option><option value="min">分钟值</option><option value="day">日均值</option><option value="rtd">实时值</option></select>
      开始 <input class="f" id="au-from" type="datetime-local" value="${local(Date.now() - 86400e3)}"> 结束 <input class="f" id="au-to" type="datetime-local" value="${local(Date.now())}">
      <button class="act" id="au-find">查询</button> <span class="muted" id="au-count"></span></div>
      ${canMark ? '<div class="form">审核原因 <input class="f" id="au-reason" style="width:360px" placeholder="必填,如:停电恢复后仪器异常"> <span class="error" id="au-msg"></span></div>' : '<p class="muted">仅监测人员和系统管理员可标记数据有效性</p>'}
      <table class="data" id="au-values"></table></div>
      <div class="panel"><h2>质控发现(自动检查:零值、恒值、超量程、负值、突变、非正常标记、缺失、离线、时钟偏差)</h2><table class="data" id="au-findings"></table></div>
      <div class="panel"><h2>审核记录</h2><a class="muted" href="/api/v1/audit-marks?format=csv">导出 CSV</a> <a class="muted" id="au-xlsx" href="/api/v1/audit-marks?format=xlsx">导出 Excel</a><table class="data" id="au-trail"></table></div>`;
    const MARK = { invalid: '<span class="off">已标记无效</span>', valid: '<span class="on">已标记有效</span>' };
    const codes = () => {
      const site = siteOf[$('au-site').value];
      $('au-code').innerHTML = '<option value="">全部污染物</option>' + ((site && site.codes) || []).map((c) => `<option value="${esc(c.code)}">${esc(c.name)}</option>`).join('');
    };
    codes();
    $('au-site').onchange = codes;
    let seq = 0; // a later query wins over an earlier one still in flight
    let busy = false; // a mark is being saved
    const ts = (t) => Date.parse(t);
    const find = async () => {
      const n = ++seq;
      const q = new URLSearchParams({ site: $('au-site').value, period: $('au-period').value, from: $('au-from').value, to: $('au-to').value, raw: 'true', per_page: '500' });
      if ($('au-code').value) q.set('code', $('au-code').value);
      const fq = new URLSearchParams({ site: $('au-site').value, from: $('au-from').value, to: $('au-to').value, per_page: '1000' });
      const [r, fr] = await Promise.all([api(`/api/v1/values?${q}`), api(`/api/v1/quality-findings?${fq}`)]);
      if (n !== seq) return;
      const period = $('au-period').value;
      const findings = fr.items.filter((f) => f.period === period || f.period === 'device');
      // The findings that concern a value: same code (or the device), its time inside [from, to).
      const about = (v) => findings.filter((f) => (f.code === v.code || f.code === '') && ts(f.from) <= ts(v.time) && ts(v.time) < ts(f.to));
      $('au-count').textContent = `共 ${r.total} 条${r.total > 500 ? ',显示前500条' : ''};质控发现 ${findings.length} 条`;
      const fcell = (list) => (list.length ? list.map((f) => `<span class="${f.invalidating ? 'off' : 'warn'}" title="${esc(`${f.kind_cn}:${f.detail} ${bj(f.from)}–${bj(f.to)},${f.count} 个${f.invalidating ? ';该值计为无效' : ''}`)}">${esc(f.kind_cn)}</span>`).join(' ') : '—');
      $('au-values').innerHTML = `<tr><th>时间</th><th>污染物</th><th>字段</th><th>数值</th><th>标记位</th><th>有效</th><th>质控发现</th><th>审核</th>${canMark ? '<th>操作</th>' : ''}</tr>` + r.items.map((v, i) =>
        `<tr data-i="${i}"><td>${bj(v.time)}</td><td title="${esc(v.code)}">${esc(cname(v.code))}</td><td>${esc(v.field)}</td><td>${esc(v.value)}</td><td>${esc(v.flag || '—')}</td><td>${v.valid ? '是' : '<span class="off">否</span>'}</td>
         <td class="au-findings">${fcell(about(v))}</td><td>${MARK[v.mark] || '—'}</td>${canMark ? `<td><button class="act au-inv">标记无效</button> <button class="act au-val">标记有效</button>${v.mark ? ' <button class="act au-unmark">撤销标记</button>' : ''}</td>` : ''}</tr>`).join('');
      $('au-findings').innerHTML = '<tr><th>类型</th><th>污染物</th><th>设备</th><th>开始</th><th>结束</th><th>个数</th><th>详情</th><th>计为无效</th></tr>' + (findings.length ? findings.map((f) =>
        `<tr><td>${esc(f.kind_cn)}</td><td title="${esc(f.code)}">${esc(f.code ? cname(f.code) : '(设备)')}</td><td>${esc(f.mn)}</td><td>${bj(f.from)}</td><td>${bj(f.to)}</td><td>${f.count}</td><td>${esc(f.detail)}</td><td>${f.invalidating ? '<span class="off">是</span>' : '否'}</td></tr>`).join('')
        : '<tr><td colspan="8" class="muted">所选时段无质控发现</td></tr>');
      // While a mark saves, every mark button is busy: a second click cannot record it twice.
      const post = async (path, body, btn) => {
        if (busy) return;
        busy = true;
        const buttons = [...$('au-values').querySelectorAll('button')];
        buttons.forEach((b) => { b.disabled = true; });
        if (btn) { btn.classList.add('busy'); btn.dataset.label = btn.textContent; btn.textContent = '保存中…'; }
        $('au-msg').textContent = '';
        try {
          await api(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ ...body, reason: $('au-reason').value }) });
          busy = false;
          await find(); await trail();
        } catch (e) {
          $('au-msg').textContent = `操作失败:${e.message}`;
          buttons.forEach((b) => { b.disabled = false; });
          if (btn) { btn.classList.remove('busy'); btn.textContent = btn.dataset.label; }
        } finally { busy = false; }
      };
      const key = (v) => ({ site: v.site, code: v.code, field: v.field, period: v.period, time: v.time });
      $('au-values').querySelectorAll('tr[data-i]').forEach((tr) => {
        const v = r.items[Number(tr.dataset.i)];
        tr.querySelector('.au-inv')?.addEventListener('click', (ev) => post('/api/v1/audit-marks', { ...key(v), valid: false }, ev.currentTarget));
        tr.querySelector('.au-val')?.addEventListener('click', (ev) => post('/api/v1/audit-marks', { ...key(v), valid: true }, ev.currentTarget));
        tr.querySelector('.au-unmark')?.addEventListener('click', (ev) => post('/api/v1/audit-marks/unmark', key(v), ev.currentTarget));
      });
    };
    const trail = async () => {
      const r = await api('/api/v1/audit-marks?per_page=200');
      const ST = { none: '未标记', invalid: '无效', valid: '有效' };
      const ACT = { mark: '标记', unmark: '撤销标记' };
      $('au-trail').innerHTML = '<tr><th>时间</th><th>操作人</th><th>操作</th><th>点位</th><th>污染物</th><th>数据时间</th><th>类型</th><th>变更</th><th>原因</th></tr>' + (r.items.length ? r.items.map((e) =>
        `<tr><td>${bj(e.at)}</td><td>${esc(e.by)}</td><td>${ACT[e.action] || esc(e.action)}</td><td title="${esc(e.site)}">${esc(siteOf[e.site]?.name || e.site)}</td><td title="${esc(e.code)}">${esc(cname(e.code))} ${esc(e.field)}</td><td>${bj(e.time)}</td><td>${esc(PERIOD_CN[e.period] || e.period)}</td>
         <td>${ST[e.before] || esc(e.before)} → ${ST[e.after] || esc(e.after)}</td><td>${esc(e.reason)}</td></tr>`).join('')
        : '<tr><td colspan="9" class="muted">暂无审核记录</td></tr>');
    };
    $('au-find').onclick = () => find().catch((e) => { $('au-count').textContent = `查询失败:${e.message}`; });
    await Promise.all([find(), trail()]);
  }

  // ---- 告警 ----
  const bj = (t) => (t ? t.replace('T', ' ').slice(0, 16) : '—');
  async function alarmsPage() {
    $('page').innerHTML = `<div class="panel"><h2>告警工作台</h2>
      状态 <select id="al-status"><option value="open">待办(未办结)</option><option value="all">全部</option><option value="new">新告警</option>
      <option value="acknowledged">已确认</option><option value="dispatched">已派发</option><option value="handled">已处置</option>
      <option value="closed">已办结</option><option value="cleared">已自动解除</option></select>
      <span id="al-count" class="muted"></span> <a id="al-csv" class="muted" href="/api/v1/alarms?format=csv">导出 CSV</a> <a id="al-xlsx" class="muted" href="/api/v1/alarms?format=xlsx">导出 Excel</a>
      <table class="data clickable" id="al-table"></table></div>
      <div class="panel" id="al-detail"><p class="muted">选择一条告警查看详情与处置记录</p></div>`;
    const load = async () => {
      const st = $('al-status').value;
      $('al-csv').href = `/api/v1/alarms?format=csv&status=${st}`;
      $('al-xlsx').href = `/api/v1/alarms?format=xlsx&status=${st}`;
      const r = await api(`/api/v1/alarms?status=${st}&per_page=500`);
      $('al-count').textContent = `共 ${r.total} 条(按处置期限排序)`;
      $('al-table').innerHTML = '<tr><th>编号</th><th>级别</th><th>类型</th><th>告警</th><th>点位</th><th>状态</th><th>最近发生</th><th>次数</th><th>承办</th><th>期限</th></tr>' + r.items.map((a) =>
        `<tr data-id="${a.id}" data-status="${a.status}"><td>${a.id}</td><td><span class="badge" style="background:${SEV_COLORS[a.severity]}">${esc(a.severity_cn)}</span></td>
         <td>${esc(RULE_NAMES[a.rule] || a.rule)}</td><td>${esc(a.title)}${a.late ? ' <span class="badge late" title="由补传(迟到)数据产生">补传</span>' : ''}</td><td>${esc(a.site_name || a.site)}</td><td>${esc(a.status_cn)}</td>
         <td>${bj(a.last_seen)}</td><td>${a.count}</td><td>${esc(a.assignee_name || '—')}</td>
         <td class="${a.overdue ? 'off' : ''}">${bj(a.deadline)}${a.overdue ? ' 逾期' : ''}</td></tr>`).join('');
      $('al-table').querySelectorAll('tr[data-id]').forEach((tr) => { tr.onclick = () => show(tr.dataset.id); });
    };
    const can = (action) => {
      const desk = ['admin', 'monitoring', 'enforcement'].includes(me.role);
      return desk || (me.role === 'town' && (action === 'ack' || action === 'handle'));
    };
    const act = async (id, action, body) => {
      try {
        await api(`/api/v1/alarms/${id}/${action}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body || {}) });
        await load(); await show(id);
      } catch (e) { $('al-msg').textContent = `操作失败:${e.message}`; }
    };
    const show = async (id) => {
      const a = await api(`/api/v1/alarms/${id}`);
      const h = a.handling;
      const local = (ms) => new Date(ms + 8 * 3600e3).toISOString().slice(0, 16);
      let forms = '';
      if (a.status === 'new' && can('ack')) forms += '<button class="act" id="al-ack">确认</button> ';
      if ((a.status === 'acknowledged' || a.status === 'dispatched') && can('dispatch')) {
        forms += `<div class="form">派发至 <select id="al-to">${a.assignees.map((x) => `<option value="${esc(x.code)}">${esc(x.name)}</option>`).join('')}</select>
          处置期限 <input class="f" type="datetime-local" id="al-deadline" value="${local(Date.now() + 3 * 86400e3)}">
          <button class="act" id="al-dispatch">${a.status === 'dispatched' ? '重新派发' : '派发'}</button></div>`;
      }
      if (a.status === 'dispatched' && can('handle')) {
        forms += `<div class="form">核查结果 <input class="f w" id="al-result"> 原因 <input class="f w" id="al-cause"> 措施 <input class="f w" id="al-measures">
          附件(文件名/链接) <input class="f" id="al-attach"> <button class="act" id="al-handle">提交处置</button></div>`;
      }
      if (a.status === 'handled' && can('close')) forms += '<button class="act" id="al-close">办结</button> ';
      if (['handled', 'closed', 'cleared'].includes(a.status) && can('reopen')) {
        forms += `<div class="form">重新打开原因 <input class="f w" id="al-reason"> <button class="act" id="al-reopen">重新打开</button></div>`;
      }
      $('al-detail').innerHTML = `<h2>告警 #${a.id} ${esc(a.title)}</h2>
        <div class="row"><div><div class="kv"><span>级别</span><b><span class="badge" style="background:${SEV_COLORS[a.severity]}">${esc(a.severity_cn)}</span></b></div>
          <div class="kv"><span>状态</span><b id="al-state">${esc(a.status_cn)}</b></div>
          <div class="kv"><span>点位</span><b>${esc(a.site_name || a.site)}</b></div>
          <div class="kv"><span>首次 / 最近</span><b>${bj(a.first_seen)} / ${bj(a.last_seen)}${a.late ? ' <span class="badge late">补传</span>' : ''}</b></div>
          <div class="kv"><span>最新值 / 峰值 / 限值</span><b>${a.value ?? '—'} / ${a.peak ?? '—'} / ${a.limit ?? '—'}</b></div>
          <div class="kv"><span>承办 / 期限</span><b>${esc(a.assignee_name || '—')} / ${bj(a.deadline)}${a.overdue ? ' <span class="off">逾期</span>' : ''}</b></div>
          ${h ? `<div class="kv"><span>处置</span><b>${esc(h.result)};原因:${esc(h.cause)};措施:${esc(h.measures)}(${esc(h.by)})</b></div>` : ''}
          <p>${esc(human(a.detail))}</p></div></div>
        <div id="al-forms">${forms}</div><p class="error" id="al-msg"></p>
        <h2>处置记录</h2><table class="data" id="al-steps"><tr><th>时间</th><th>环节</th><th>操作人</th><th>状态</th><th>说明</th></tr>${a.steps.map((st) =>
          `<tr><td>${bj(st.at)}</td><td>${esc(STEP_NAMES[st.action] || st.action)}</td><td>${esc(st.by === 'system' ? '系统' : st.by)}</td><td>${esc(STATUS_CN[st.to] || st.to)}</td><td>${esc(st.note_text ?? human(st.note))}</td></tr>`).join('')}</table>`;
      const on = (bid, f) => { if ($(bid)) $(bid).onclick = f; };
      on('al-ack', () => act(a.id, 'ack'));
      on('al-dispatch', () => act(a.id, 'dispatch', { to: $('al-to').value, deadline: $('al-deadline').value }));
      on('al-handle', () => act(a.id, 'handle', { result: $('al-result').value, cause: $('al-cause').value, measures: $('al-measures').value,
        attachments: $('al-attach').value ? [$('al-attach').value] : [] }));
      on('al-close', () => act(a.id, 'close'));
      on('al-reopen', () => act(a.id, 'reopen', { reason: $('al-reason').value }));
    };
    $('al-status').onchange = load;
    await load();
  }

  // ---- 信息公开 ----
  async function publicPage() {
    const r = await fetch('/api/v1/public/air').then((x) => x.json());
    const ca = r.county_air;
    $('pub-aqi').textContent = ca ? ca.aqi : '—';
    $('pub-aqi').style.color = ca ? aqiColor(ca.level) : '#8a8a8a';
    $('pub-aqi-text').innerHTML = ca ? `${aqiName(ca.level)} · 首要污染物 ${esc(primary(ca.primary))} · ${esc(ca.date)}` : '暂无';
    $('pub-stations').insertAdjacentHTML('beforeend', r.stations.map((s) =>
      `<tr><td>${esc(s.name)}</td><td>${esc(s.air?.date || '—')}</td><td>${s.air?.aqi ?? '—'}</td><td><span class="badge" style="background:${aqiColor(s.air?.level)}">${aqiName(s.air?.level)}</span></td><td>${esc(primary(s.air?.primary))}</td></tr>`).join(''));
    const TN = { surface_water: '地表水断面', drinking_water: '饮用水水源地' };
    $('pub-water').insertAdjacentHTML('beforeend', r.water.map((w) =>
      `<tr><td>${esc(w.name)}</td><td>${TN[w.kind]}</td><td><span class="badge" style="background:${WATER_COLORS[w.target_class] || '#888'}">${esc(w.target_class || '—')}</span></td><td>${w.class ? `<span class="badge" style="background:${WATER_COLORS[w.class] || '#888'}">${esc(w.class)}</span> <span class="muted">${esc(w.month || '')}</span>` : '暂无数据'}</td></tr>`).join(''));
    const days = r.county_days.filter((d) => d.aqi != null);
    const c = echarts.init($('pub-trend'));
    c.setOption({ tooltip: { trigger: 'axis' }, xAxis: { type: 'category', data: days.map((d) => d.date.slice(5)), axisLabel: { color: '#9fc3ee' } },
      yAxis: { type: 'value', axisLabel: { color: '#9fc3ee' } },
      series: [{ type: 'bar', data: days.map((d) => ({ value: d.aqi, itemStyle: { color: aqiColor(d.level) } })) }] });
  }

  return { start, publicPage };
})();
