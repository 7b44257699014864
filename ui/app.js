// qingshan web UI (zh-CN). Plain JavaScript, no build step; ECharts is vendored.
'use strict';
const QS = (() => {
  // HJ 633 AQI level colours and categories (level 1–6).
  const AQI_COLORS = ['#00E400', '#FFFF00', '#FF7E00', '#FF0000', '#99004C', '#7E0023'];
  const AQI_NAMES = ['优', '良', '轻度污染', '中度污染', '重度污染', '严重污染'];
  // GB 3838 water class colours: I–II blue, III green, IV yellow, V orange, 劣V red.
  const WATER_COLORS = { I: '#1E90FF', II: '#1E90FF', III: '#00B050', IV: '#FFD700', V: '#FF8C00', 'V+': '#FF0000' };
  const KIND_NAMES = { air: '空气站', surface_water: '地表水断面', drinking_water: '饮用水水源地', noise: '噪声点',
    flue_gas: '废气排口', wastewater: '废水排口', fume: '餐饮油烟' };
  const POLLUTANTS = [['a34004', 'PM2.5'], ['a34002', 'PM10'], ['a05024', 'O₃'], ['a21004', 'NO₂'], ['a21026', 'SO₂'], ['a21005', 'CO']];
  const PRIMARY = { PM25_24H: 'PM2.5', PM10_24H: 'PM10', O3_8H: 'O₃-8h', O3_1H: 'O₃-1h', NO2_24H: 'NO₂', SO2_24H: 'SO₂', CO_24H: 'CO' };
  // Navigation: built pages have a render function; the others are shown disabled (建设中).
  const PAGES = [
    ['overview', '总览', overview], ['air', '大气', airPage], ['water', '水'], ['sources', '污染源'],
    ['fume', '油烟'], ['noise', '噪声'], ['alarms', '告警', alarmsPage], ['audit', '数据审核'],
    ['devices', '设备', devicesPage], ['plan', '规划指标', planPage],
  ];
  // Alarm severity colours (一般 蓝, 较重 黄, 严重 橙, 特别严重 红).
  const SEV_COLORS = { info: '#1E90FF', warning: '#FFFF00', major: '#FF7E00', critical: '#FF0000' };
  const RULE_NAMES = { exceedance: '超标', pre_warning: '预警', offline: '离线', aqi_jump: '空气质量突变', data_anomaly: '数据异常',
    water_below_target: '水质未达标', drinking_water_noncompliance: '饮用水不达标' };
  const STEP_NAMES = { raised: '产生', escalated: '升级', cleared: '自动解除', ack: '确认', dispatch: '派发', handle: '处置反馈',
    close: '办结', reopen: '重新打开', overdue: '逾期' };
  const STATUS_CN = { new: '新告警', acknowledged: '已确认', dispatched: '已派发', handled: '已处置', closed: '已办结', cleared: '已自动解除' };
  const IND_STATUS = { met: ['已达标', '#00B050'], on_track: ['进度正常', '#1E90FF'], at_risk: ['有风险', '#FF7E00'], missed: ['未达标', '#FF0000'],
    no_data: ['无数据', '#8a8a8a'], target_pending: ['目标待下达', '#8a8a8a'] };
  const indBadge = (st) => `<span class="badge" style="background:${(IND_STATUS[st] || IND_STATUS.no_data)[1]}">${(IND_STATUS[st] || IND_STATUS.no_data)[0]}</span>`;
  const indTarget = (t) => (t.value != null ? `${t.direction || ''} ${t.value}` : (t.text || '—'));
  let me = null;
  const charts = [];
  const $ = (id) => document.getElementById(id);
  const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
  const aqiColor = (lvl) => (lvl ? AQI_COLORS[lvl - 1] : '#8a8a8a');
  const aqiName = (lvl) => (lvl ? AQI_NAMES[lvl - 1] : '无数据');
  const primary = (p) => (p ? p.split(',').map((x) => PRIMARY[x] || x).join('、') : '—');

  async function api(path, opts) {
    const r = await fetch(path, opts);
    if (r.status === 401) { location.href = '/login'; throw new Error('401'); }
    const body = r.headers.get('content-type')?.includes('json') ? await r.json() : await r.text();
    if (!r.ok) throw new Error((body && body.detail) || r.status);
    return body;
  }
  function chart(id) {
    const c = echarts.init($(id), null, { renderer: 'canvas' });
    charts.push(c);
    return c;
  }
  window.addEventListener('resize', () => charts.forEach((c) => c.resize()));

  async function start() {
    try { me = await api('/api/v1/auth/me'); } catch (e) { return; }
    $('who').textContent = `${me.display || me.user} · ${me.role_label}`;
    $('logout').onclick = async () => { await fetch('/api/v1/auth/logout', { method: 'POST' }); location.href = '/login'; };
    $('menu').innerHTML = PAGES.map(([id, name, f]) => f
      ? `<a href="#${id}" id="nav-${id}">${name}</a>`
      : `<a class="disabled" id="nav-${id}" title="建设中" aria-disabled="true">${name}</a>`).join('');
    window.addEventListener('hashchange', route);
    route();
  }
  function route() {
    const id = (location.hash || '#overview').slice(1);
    const page = PAGES.find((p) => p[0] === id && p[2]) || PAGES[0];
    document.querySelectorAll('nav.menu a').forEach((a) => a.classList.toggle('active', a.id === `nav-${page[0]}`));
    charts.splice(0).forEach((c) => c.dispose());
    $('page').innerHTML = '';
    page[2]().catch((e) => { $('page').insertAdjacentHTML('beforeend', `<p class="error">加载失败:${esc(e.message)}</p>`); });
  }

  // ---- 总览 ----
  let boundaryRegistered = false;
  async function overview() {
    $('page').innerHTML = `<div class="grid">
      <div><div class="panel"><h2>今日县城空气质量</h2><div id="ov-aqi" class="big">—</div><div id="ov-aqi-text" style="text-align:center"></div></div>
           <div class="panel"><h2>设备在线</h2><div id="ov-devices"></div></div>
           <div class="panel"><h2>告警</h2><div id="ov-alarms"></div></div></div>
      <div class="panel"><h2>点位分布</h2><div id="ov-map" class="chart tall"></div></div>
      <div><div class="panel"><h2>空气站(最新日 AQI)</h2><table class="data" id="ov-stations"></table></div>
           <div class="panel" id="ov-ind-panel"><h2>规划指标(对照2025年目标)</h2><table class="data" id="ov-ind"></table></div>
           <div class="panel"><h2>点位统计</h2><div id="ov-kinds"></div><p class="muted" id="ov-note"></p></div></div></div>`;
    const [ov, geo] = await Promise.all([api('/api/v1/overview'), boundaryRegistered ? null : api('/api/v1/boundary').catch(() => null)]);
    if (geo) { echarts.registerMap('county', typeof geo === 'string' ? JSON.parse(geo) : geo); boundaryRegistered = true; }
    const ca = ov.county_air;
    $('ov-aqi').textContent = ca ? ca.aqi : '—';
    $('ov-aqi').style.color = ca ? aqiColor(ca.level) : '#8a8a8a';
    $('ov-aqi-text').innerHTML = ca ? `${aqiName(ca.level)} · 首要污染物 ${esc(primary(ca.primary))}<br><span class="muted">${esc(ca.date)}</span>` : '暂无日均值';
    $('ov-devices').innerHTML = `<div class="kv"><span>设备总数</span><b id="ov-dev-total">${ov.devices.total}</b></div>
      <div class="kv"><span>在线</span><b class="on" id="ov-dev-online">${ov.devices.online}</b></div>
      <div class="kv"><span>离线</span><b class="off">${ov.devices.offline}</b></div>`;
    const al = ov.alarms;
    $('ov-alarms').innerHTML = `<div class="kv"><span>待办告警</span><b><a href="#alarms" id="ov-alarm-open">${al.open}</a></b></div>
      <div class="kv"><span>新告警</span><b>${al.new}</b></div><div class="kv"><span>逾期</span><b class="off">${al.overdue}</b></div>
      <div class="kv"><span>特别严重 / 严重 / 较重 / 一般</span><b>${['critical', 'major', 'warning', 'info'].map((k) => `<span style="color:${SEV_COLORS[k]}">${al.by_severity[k] || 0}</span>`).join(' / ')}</b></div>`;
    if (ov.indicators) {
      $('ov-ind').innerHTML = '<tr><th>指标</th><th>最新值</th><th>目标</th><th>状态</th></tr>' + ov.indicators.items.map((i) =>
        `<tr><td title="${esc(i.code)}">${esc(i.name)}</td><td>${i.latest ?? '—'}${i.latest_year ? `<span class="muted">(${i.latest_year})</span>` : ''}</td><td>${esc(indTarget(i.target))}</td><td>${indBadge(i.status)}</td></tr>`).join('');
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
      tooltip: { formatter: (p) => { const s = p.data.site; return `${esc(s.name)}<br>${KIND_NAMES[s.kind]}${s.air ? `<br>AQI ${s.air.aqi} ${aqiName(s.air.level)}` : ''}<br>设备 ${s.online}/${s.devices} 在线`; } },
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
      年份 <select id="air-year">${[year, year - 1, year - 2].map((y) => `<option>${y}</option>`).join('')}</select></div>
      <div class="panel"><h2>逐时浓度(近3日)</h2><div id="air-hourly" class="chart"></div></div>
      <div class="row"><div class="panel"><h2>日历热图:逐日 AQI</h2><div id="air-calendar" class="chart" style="height:260px"></div></div></div>
      <div class="row"><div class="panel"><h2>各月优良天数</h2><div id="air-monthly" class="chart"></div></div>
      <div class="panel"><h2>年度统计</h2><table class="data" id="air-annual"></table></div></div>`;
    const draw = async () => {
      const site = $('air-site').value, y = $('air-year').value;
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
      const rows = [['有效天数', st.valid_days], ['优良天数', st.good_days], ['优良天数比例 %', f(st.good_days_ratio)], ['重度及以上污染天数', st.heavy_days],
        ['PM2.5 年均 µg/m³', f(st.PM25_annual_mean, 0)], ['PM10 年均 µg/m³', f(st.PM10_annual_mean, 0)], ['NO₂ 年均 µg/m³', f(st.NO2_annual_mean, 0)],
        ['SO₂ 年均 µg/m³', f(st.SO2_annual_mean, 0)], ['CO 日均第95百分位 mg/m³', f(st.CO_24H_p95)], ['O₃ 日最大8小时第90百分位 µg/m³', f(st.O3_8H_p90, 0)],
        ['综合指数', f(st.composite_index ?? st.composite_index_2012, 2)], ['达标(GB 3095 二级)', st.attainment?.attains == null ? '数据不足' : st.attainment.attains ? '达标' : '未达标']];
      $('air-annual').innerHTML = rows.map(([k, v]) => `<tr><td>${k}</td><td><b>${esc(v)}</b></td></tr>`).join('');
    };
    $('air-site').onchange = draw; $('air-year').onchange = draw;
    await draw();
  }

  // ---- 设备 ----
  async function devicesPage() {
    $('page').innerHTML = `<div class="panel"><h2>设备列表</h2>
      <span id="dev-count"></span> <a href="/api/v1/devices?format=csv" class="muted">导出 CSV</a>
      <table class="data" id="dev-table"></table></div>
      <div class="panel" id="cmd-panel"><h2>补发数据(2061)</h2>
      设备 <select id="cmd-mn"></select> 开始 <input class="f" id="cmd-begin" type="datetime-local"> 结束 <input class="f" id="cmd-end" type="datetime-local">
      <button class="act" id="cmd-send">发送</button> <span id="cmd-result"></span>
      <table class="data" id="cmd-table"></table></div>`;
    const d = await api('/api/v1/devices?per_page=10000');
    const on = d.items.filter((x) => x.online).length;
    $('dev-count').textContent = `共 ${d.total} 台,在线 ${on} 台,离线 ${d.total - on} 台`;
    $('dev-table').innerHTML = '<tr><th>MN</th><th>点位</th><th>类型</th><th>状态</th><th>最后数据包</th><th>包数</th><th>协议偏差</th></tr>' + d.items.map((x) =>
      `<tr><td>${esc(x.mn)}</td><td>${esc(x.site)}</td><td>${esc(KIND_NAMES[x.kind] || x.kind)}</td><td class="${x.online ? 'on' : 'off'}">${x.online ? '在线' : '离线'}</td>
       <td>${esc((x.last_seen || '—').replace('T', ' ').slice(0, 19))}</td><td>${x.packets}</td><td>${esc(x.deviations || '—')}</td></tr>`).join('');
    const online = d.items.filter((x) => x.online);
    $('cmd-mn').innerHTML = (online.length ? online : d.items).map((x) => `<option value="${esc(x.mn)}">${esc(x.mn)} ${esc(x.site)}</option>`).join('');
    const local = (ms) => new Date(ms + 8 * 3600e3).toISOString().slice(0, 16);
    const hour = Math.floor(Date.now() / 3600e3) * 3600e3;
    $('cmd-begin').value = local(hour - 6 * 3600e3); $('cmd-end').value = local(hour - 3600e3);
    const hj = (v) => v.replace(/[-T:]/g, '') + '00';
    const showCmds = async () => {
      const mn = $('cmd-mn').value;
      if (!mn) return;
      const list = await api(`/api/v1/devices/${encodeURIComponent(mn)}/commands?limit=10`);
      const rtn = (c) => (c == null ? '等待' : c === 1 ? '成功(1)' : `代码 ${c}`);
      $('cmd-table').innerHTML = '<tr><th>QN</th><th>命令</th><th>发送时间</th><th>9011 应答</th><th>9012 执行结果</th></tr>' + list.map((c) =>
        `<tr><td>${esc(c.qn)}</td><td>${esc(c.cn)}</td><td>${new Date(c.sent_ms + 8 * 3600e3).toISOString().slice(0, 19).replace('T', ' ')}</td>
         <td class="cmd-qnrtn">${rtn(c.qn_rtn)}</td><td class="cmd-exertn">${rtn(c.exe_rtn)}</td></tr>`).join('');
    };
    $('cmd-mn').onchange = showCmds;
    $('cmd-send').onclick = async () => {
      $('cmd-result').textContent = '发送中…';
      try {
        const r = await api(`/api/v1/devices/${encodeURIComponent($('cmd-mn').value)}/commands`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ cn: '2061', cp: { BeginTime: hj($('cmd-begin').value), EndTime: hj($('cmd-end').value) } }) });
        $('cmd-result').textContent = `已发送 QN=${r.qn}`;
      } catch (e) { $('cmd-result').textContent = `发送失败:${e.message}`; }
      await showCmds();
      setTimeout(showCmds, 1500); setTimeout(showCmds, 4000);
    };
    await showCmds();
  }

  // ---- 规划指标 ----
  async function planPage() {
    const year = new Date().getFullYear();
    const canEnter = ['admin', 'planning'].includes(me.role);
    $('page').innerHTML = `<div class="panel"><h2>规划指标(“十四五”生态环境保护规划 专栏二)</h2>
      年份 <select id="ind-year">${[year, year - 1, year - 2, year - 3, year - 4, year - 5].filter((y) => y >= 2021).map((y) => `<option>${y}</option>`).join('')}</select>
      <span class="muted">状态按所选年份对照 2025 年目标;自动计算的指标来自监测数据,其余由责任部门填报</span>
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
      $('ind-table').innerHTML = `<tr><th>编号</th><th>指标</th><th>单位</th><th>属性</th><th>来源</th>${years.map((k) => `<th>${k}</th>`).join('')}<th>2025目标</th><th>状态</th><th>趋势</th></tr>` +
        r.indicators.map((i) => {
          const by = {}; i.years.forEach((v) => { by[v.year] = v; });
          return `<tr data-id="${esc(i.code)}"><td>${esc(i.code)}</td><td>${esc(i.name)}</td><td>${esc(i.unit)}</td><td>${esc(i.type)}</td>
            <td>${esc(COMP[i.computed_from] || i.computed_from)}</td>${years.map((k) => { const v = by[k];
              return `<td class="ind-v" data-year="${k}" title="${v ? esc(`${v.origin} ${v.source || ''} ${v.evidence || ''} ${v.detail || ''}`) : ''}">${v ? v.value : '—'}</td>`; }).join('')}
            <td>${esc(indTarget(i.target))}</td><td>${indBadge(i.status)}</td><td>${{ improving: '向好', worsening: '变差', stable: '持平' }[i.trend] || '—'}</td></tr>`;
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
            body: JSON.stringify({ year: Number($('ind-y').value), value: Number($('ind-value').value), source: $('ind-source').value,
              evidence: $('ind-evidence').value, target: $('ind-target').checked }) });
          $('ind-msg').textContent = '已保存';
          await load(); await showEntries(code);
        } catch (e) { $('ind-msg').textContent = `保存失败:${e.message}`; }
      };
    }
    await load();
  }

  // ---- 告警 ----
  const bj = (t) => (t ? t.replace('T', ' ').slice(0, 16) : '—');
  async function alarmsPage() {
    $('page').innerHTML = `<div class="panel"><h2>告警工作台</h2>
      状态 <select id="al-status"><option value="open">待办(未办结)</option><option value="all">全部</option><option value="new">新告警</option>
      <option value="acknowledged">已确认</option><option value="dispatched">已派发</option><option value="handled">已处置</option>
      <option value="closed">已办结</option><option value="cleared">已自动解除</option></select>
      <span id="al-count" class="muted"></span> <a id="al-csv" class="muted" href="/api/v1/alarms?format=csv">导出 CSV</a>
      <table class="data clickable" id="al-table"></table></div>
      <div class="panel" id="al-detail"><p class="muted">选择一条告警查看详情与处置记录</p></div>`;
    const load = async () => {
      const st = $('al-status').value;
      $('al-csv').href = `/api/v1/alarms?format=csv&status=${st}`;
      const r = await api(`/api/v1/alarms?status=${st}&per_page=500`);
      $('al-count').textContent = `共 ${r.total} 条(按处置期限排序)`;
      $('al-table').innerHTML = '<tr><th>编号</th><th>级别</th><th>类型</th><th>告警</th><th>点位</th><th>状态</th><th>最近发生</th><th>次数</th><th>承办</th><th>期限</th></tr>' + r.items.map((a) =>
        `<tr data-id="${a.id}" data-status="${a.status}"><td>${a.id}</td><td><span class="badge" style="background:${SEV_COLORS[a.severity]}">${esc(a.severity_cn)}</span></td>
         <td>${esc(RULE_NAMES[a.rule] || a.rule)}</td><td>${esc(a.title)}</td><td>${esc(a.site_name || a.site)}</td><td>${esc(a.status_cn)}</td>
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
          <div class="kv"><span>首次 / 最近</span><b>${bj(a.first_seen)} / ${bj(a.last_seen)}</b></div>
          <div class="kv"><span>最新值 / 峰值 / 限值</span><b>${a.value ?? '—'} / ${a.peak ?? '—'} / ${a.limit ?? '—'}</b></div>
          <div class="kv"><span>承办 / 期限</span><b>${esc(a.assignee_name || '—')} / ${bj(a.deadline)}${a.overdue ? ' <span class="off">逾期</span>' : ''}</b></div>
          ${h ? `<div class="kv"><span>处置</span><b>${esc(h.result)};原因:${esc(h.cause)};措施:${esc(h.measures)}(${esc(h.by)})</b></div>` : ''}
          <p>${esc(a.detail)}</p></div></div>
        <div id="al-forms">${forms}</div><p class="error" id="al-msg"></p>
        <h2>处置记录</h2><table class="data" id="al-steps"><tr><th>时间</th><th>环节</th><th>操作人</th><th>状态</th><th>说明</th></tr>${a.steps.map((st) =>
          `<tr><td>${bj(st.at)}</td><td>${esc(STEP_NAMES[st.action] || st.action)}</td><td>${esc(st.by === 'system' ? '系统' : st.by)}</td><td>${esc(STATUS_CN[st.to] || st.to)}</td><td>${esc(st.note)}</td></tr>`).join('')}</table>`;
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
      `<tr><td>${esc(w.name)}</td><td>${TN[w.kind]}</td><td><span class="badge" style="background:${WATER_COLORS[w.target_class] || '#888'}">${esc(w.target_class || '—')}</span></td><td>${esc(w.class || '评价建设中')}</td></tr>`).join(''));
    const days = r.county_days.filter((d) => d.aqi != null);
    const c = echarts.init($('pub-trend'));
    c.setOption({ tooltip: { trigger: 'axis' }, xAxis: { type: 'category', data: days.map((d) => d.date.slice(5)), axisLabel: { color: '#9fc3ee' } },
      yAxis: { type: 'value', axisLabel: { color: '#9fc3ee' } },
      series: [{ type: 'bar', data: days.map((d) => ({ value: d.aqi, itemStyle: { color: aqiColor(d.level) } })) }] });
  }

  return { start, publicPage };
})();
