/* The scanner page: renders what /<database>/scanner/step returns.
 *
 * No framework and no build step.  Authentication is Tryton's own session
 * (common.db.login over JSON-RPC, then "Authorization: Session ..."); the
 * web client's session cookie works as well.  Every scan is posted with a
 * client-generated key; a request retried after a dropped connection reuses
 * its key, so the server applies a confirmation once.
 */
(function () {
  'use strict';

  const GS = '\u001d';
  const database = decodeURIComponent(
    window.location.pathname.split('/').filter(Boolean)[0] || '');
  const base = '/' + encodeURIComponent(database);
  const $ = (id) => document.getElementById(id);

  // Strings of the page itself; everything else comes translated by Tryton.
  const TEXTS = {
    en: {
      login: 'Login', password: 'Password', sign_in: 'Sign in',
      separator: 'GS substitute', bad_login: 'Wrong login or password.',
      offline: 'No connection: scan again to retry.', steps: 'Scanner',
      camera: 'Scan with the camera', camera_close: 'Close camera',
      camera_unavailable: 'The camera cannot be used here (it needs HTTPS ' +
        'or localhost, and the permission to use it).',
      camera_no_decoder: 'No barcode decoder: the camera cannot scan here.',
    },
    zh_CN: {
      login: '用户名', password: '密码', sign_in: '登录',
      separator: 'GS 替代字符', bad_login: '用户名或密码错误。',
      offline: '无网络连接：请重新扫描以重试。', steps: '扫描',
      camera: '用相机扫描', camera_close: '关闭相机',
      camera_unavailable: '此处无法使用相机（需要 HTTPS 或 localhost，' +
        '并允许使用相机）。',
      camera_no_decoder: '没有条码解码器：此处无法用相机扫描。',
    },
  };
  let language = (navigator.language || 'en').toLowerCase().startsWith('zh')
    ? 'zh_CN' : 'en';
  const t = (key) => (TEXTS[language] || TEXTS.en)[key] || TEXTS.en[key];

  let session = sessionStorage.getItem('scanner-session:' + database);
  let current = null;   // last screen returned by the server
  let pendingKey = null;  // key of a request that got no answer
  let pendingBody = null;
  let busy = false;

  function newKey() {
    if (window.crypto && crypto.randomUUID) {
      return crypto.randomUUID();
    }
    return Date.now().toString(36) + '-' +
      Math.random().toString(36).slice(2) + Math.random().toString(36).slice(2);
  }

  function translatePage() {
    document.documentElement.lang = language.replace('_', '-');
    document.querySelectorAll('[data-i18n]').forEach((node) => {
      node.textContent = t(node.dataset.i18n);
    });
    document.querySelectorAll('[data-i18n-label]').forEach((node) => {
      node.setAttribute('aria-label', t(node.dataset.i18nLabel));
      node.title = t(node.dataset.i18nLabel);
    });
  }

  // --- feedback: sound and vibration ---------------------------------------
  let audio = null;
  function beep(ok) {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      const tones = ok ? [[1046, 0, 0.09]] : [[330, 0, 0.18], [220, 0.22, 0.3]];
      tones.forEach(([frequency, start, duration]) => {
        const oscillator = audio.createOscillator();
        const gain = audio.createGain();
        oscillator.type = ok ? 'sine' : 'square';
        oscillator.frequency.value = frequency;
        gain.gain.value = 0.15;
        oscillator.connect(gain).connect(audio.destination);
        oscillator.start(audio.currentTime + start);
        oscillator.stop(audio.currentTime + start + duration);
      });
    } catch (error) { /* no audio: the colours still tell */ }
    if (navigator.vibrate) {
      navigator.vibrate(ok ? 60 : [200, 80, 200]);
    }
    document.body.classList.remove('flash-success', 'flash-error');
    void document.body.offsetWidth;
    document.body.classList.add(ok ? 'flash-success' : 'flash-error');
  }

  function showMessage(text, level) {
    const node = $('message');
    node.textContent = text || '';
    node.className = 'message ' + (level || 'info');
    node.hidden = !text;
    node.dataset.level = level || 'info';
  }

  // --- HTTP ----------------------------------------------------------------
  function headers() {
    const result = {
      'Content-Type': 'application/json',
      'X-Requested-With': 'XMLHttpRequest',  // no browser login popup
    };
    if (session) {
      result.Authorization = 'Session ' + session;
    }
    return result;
  }

  async function call(method, body) {
    const response = await fetch(base + '/scanner/step', {
      method: method, headers: headers(), credentials: 'same-origin',
      body: body ? JSON.stringify(body) : undefined,
    });
    let data = null;
    try { data = await response.json(); } catch (error) { data = null; }
    return {status: response.status, data: data};
  }

  async function login(event) {
    event.preventDefault();
    const user = $('login-user').value.trim();
    const password = $('login-password').value;
    $('login-error').hidden = true;
    try {
      const response = await fetch(base + '/rpc/', {
        method: 'POST',
        headers: {'Content-Type': 'application/json'},
        body: JSON.stringify({
          id: 1, method: 'common.db.login',
          params: [user, {password: password}, language],
        }),
      });
      const data = await response.json().catch(() => ({}));
      if (!response.ok || !data.result) {
        throw new Error('login');
      }
      const [userId, token] = data.result;
      session = btoa(unescape(encodeURIComponent(
        user + ':' + userId + ':' + token)));
      sessionStorage.setItem('scanner-session:' + database, session);
      $('login-password').value = '';
      await loadSteps();
    } catch (error) {
      $('login-error').textContent = t('bad_login');
      $('login-error').hidden = false;
      beep(false);
    }
  }

  async function logout() {
    if (session) {
      fetch(base + '/rpc/', {
        method: 'POST', headers: headers(),
        body: JSON.stringify({id: 2, method: 'common.db.logout', params: []}),
      }).catch(() => null);
    }
    session = null;
    sessionStorage.removeItem('scanner-session:' + database);
    showLogin();
  }

  function showLogin() {
    stopCamera();
    $('login').hidden = false;
    $('steps').hidden = true;
    $('screen').hidden = true;
    $('logout').hidden = true;
    $('user').textContent = '';
    $('title').textContent = t('steps');
    $('login-user').focus();
  }

  async function loadSteps() {
    let result;
    try {
      result = await call('GET');
    } catch (error) {
      showMessage(t('offline'), 'error');
      return;
    }
    if (result.status === 401 || result.status === 403) {
      showLogin();
      return;
    }
    const data = result.data || {};
    if (data.language) {
      language = data.language.startsWith('zh') ? 'zh_CN' : 'en';
      translatePage();
    }
    $('login').hidden = true;
    $('logout').hidden = false;
    $('user').textContent = data.user || '';
    const nav = $('steps');
    nav.replaceChildren();
    (data.steps || []).forEach((step) => {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'step';
      button.dataset.step = step.name;
      button.textContent = step.title;
      button.addEventListener('click', () => startStep(step.name));
      nav.appendChild(button);
    });
    showSteps();
  }

  function showSteps() {
    stopCamera();
    current = null;
    $('title').textContent = t('steps');
    $('steps').hidden = false;
    $('screen').hidden = true;
    const first = $('steps').querySelector('button');
    if (first) { first.focus(); }
  }

  async function startStep(name) {
    await send({step: name, state: {}, scan: null});
  }

  // --- scanning --------------------------------------------------------------
  function normalise(value) {
    const substitute = $('separator').value;
    if (substitute) {
      value = value.split(substitute).join(GS);
    }
    return value;
  }

  // Scans typed while a request is running wait their turn: a wedge
  // scanner does not wait for the server.
  const queue = [];

  async function submitScan(event) {
    event.preventDefault();
    const input = $('scan');
    const value = normalise(input.value);
    input.value = '';
    await handleScan(value);
  }

  // Every scan, typed by a wedge scanner or decoded by the camera
  async function handleScan(value) {
    if (!current) { return; }
    queue.push(value);
    if (busy) { return; }
    while (queue.length && current) {
      const next = queue.shift();
      await send({step: current.step, state: current.state, scan: next});
    }
  }

  // --- camera: BarcodeDetector, else zxing-wasm served by this server ------
  const ZXING = base + '/scanner/vendor/zxing-wasm/';
  const FORMATS = ['ean_13', 'ean_8', 'upc_a', 'upc_e', 'code_128',
    'code_39', 'itf', 'data_matrix', 'qr_code'];
  let camera = null;  // {stream, timer}
  let decode = null;  // video -> Promise<text or null>

  function loadScript(src) {
    return new Promise((resolve, reject) => {
      const script = document.createElement('script');
      script.src = src;
      script.onload = resolve;
      script.onerror = () => reject(new Error(src));
      document.head.appendChild(script);
    });
  }

  async function nativeDecoder() {
    if (!('BarcodeDetector' in window)) { return null; }
    try {
      const supported = await window.BarcodeDetector.getSupportedFormats();
      const formats = FORMATS.filter((f) => supported.includes(f));
      if (!formats.length) { return null; }
      const detector = new window.BarcodeDetector({formats: formats});
      return async (video) => {
        const codes = await detector.detect(video);
        return codes.length ? codes[0].rawValue : null;
      };
    } catch (error) {
      return null;
    }
  }

  async function zxingDecoder() {
    await loadScript(ZXING + 'zxing-reader.js');
    const zxing = window.ZXingWASM;
    // The .wasm comes from this server too (the package defaults to a CDN)
    zxing.setZXingModuleOverrides({
      locateFile: (path, prefix) => path.endsWith('.wasm')
        ? ZXING + 'zxing_reader.wasm' : prefix + path,
    });
    const canvas = document.createElement('canvas');
    const context = canvas.getContext('2d', {willReadFrequently: true});
    return async (video) => {
      if (!video.videoWidth) { return null; }
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      context.drawImage(video, 0, 0);
      const results = await zxing.readBarcodes(
        context.getImageData(0, 0, canvas.width, canvas.height),
        {tryHarder: true, maxNumberOfSymbols: 1,
          formats: ['EAN13', 'EAN8', 'UPCA', 'UPCE', 'Code128', 'Code39',
            'ITF', 'DataMatrix', 'QRCode']});
      // GS1 symbols come in the bracketed form (01)...(10)..., which the
      // server parses like the GS-separated one
      const found = results.find((r) => r.isValid && r.text);
      return found ? found.text : null;
    };
  }

  async function startCamera() {
    if (camera) { stopCamera(); return; }
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      showMessage(t('camera_unavailable'), 'error');
      beep(false);
      return;
    }
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia(
        {video: {facingMode: 'environment'}, audio: false});
    } catch (error) {
      showMessage(t('camera_unavailable'), 'error');
      beep(false);
      return;
    }
    try {
      decode = decode || await nativeDecoder() || await zxingDecoder();
    } catch (error) {
      stream.getTracks().forEach((track) => track.stop());
      showMessage(t('camera_no_decoder'), 'error');
      beep(false);
      return;
    }
    const video = $('camera-video');
    video.srcObject = stream;
    $('camera-view').hidden = false;
    await video.play().catch(() => null);
    camera = {stream: stream, timer: null};
    const tick = async () => {
      if (!camera) { return; }
      let text = null;
      try { text = await decode(video); } catch (error) { text = null; }
      if (!camera) { return; }
      if (text) {
        stopCamera();
        await handleScan(text);
        return;
      }
      camera.timer = setTimeout(tick, 150);
    };
    tick();
  }

  function stopCamera() {
    if (!camera) { return; }
    clearTimeout(camera.timer);
    camera.stream.getTracks().forEach((track) => track.stop());
    camera = null;
    $('camera-video').srcObject = null;
    $('camera-view').hidden = true;
    focusScan();
  }

  async function action(item) {
    if (!current || busy) { return; }
    if (item.confirm && !window.confirm(item.label + '?')) {
      focusScan();
      return;
    }
    await send({step: current.step, state: current.state, scan: item.value});
  }

  async function send(body) {
    // A request that got no answer is retried with the same key
    const same = pendingBody && JSON.stringify(pendingBody) === JSON.stringify(body);
    body.key = same ? pendingKey : newKey();
    pendingKey = body.key;
    pendingBody = {step: body.step, state: body.state, scan: body.scan};
    busy = true;
    $('busy').hidden = false;
    let result;
    try {
      result = await call('POST', body);
    } catch (error) {
      busy = false;
      $('busy').hidden = true;
      showMessage(t('offline'), 'error');
      beep(false);
      focusScan();
      return;
    }
    busy = false;
    $('busy').hidden = true;
    pendingKey = pendingBody = null;
    if (result.status === 401) {
      showLogin();
      return;
    }
    const data = result.data || {};
    if (result.status >= 400) {
      showMessage(data.message || ('HTTP ' + result.status), 'error');
      $('message').dataset.error = data.error || '';
      beep(false);
      focusScan();
      return;
    }
    render(data);
    if (body.scan !== null) {
      beep(data.level !== 'error');
    }
  }

  function render(screen) {
    current = screen;
    $('steps').hidden = true;
    $('screen').hidden = false;
    $('screen').dataset.step = screen.step;
    $('title').textContent = screen.title || '';
    $('header').textContent = screen.header || '';
    $('prompt').textContent = screen.prompt || '';
    showMessage(screen.message, screen.level);
    $('message').dataset.error = '';
    const input = $('scan');
    input.setAttribute('inputmode', screen.input === 'quantity' ? 'decimal' : 'text');
    input.dataset.input = screen.input || 'scan';
    const lines = $('lines');
    lines.replaceChildren();
    (screen.lines || []).forEach((line) => {
      const item = document.createElement('li');
      item.className = line.status || '';
      item.dataset.status = line.status || '';
      const name = document.createElement('span');
      name.className = 'name';
      name.textContent = line.product;
      item.appendChild(name);
      if (line.expected !== undefined) {
        const quantities = document.createElement('span');
        quantities.className = 'quantities';
        quantities.textContent = line.counted + ' / ' + line.expected;
        item.appendChild(quantities);
      }
      const status = document.createElement('span');
      status.className = 'status';
      status.textContent = line.status_label || '';
      item.appendChild(status);
      lines.appendChild(item);
    });
    const actions = $('actions');
    actions.replaceChildren();
    (screen.actions || []).forEach((item) => {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'action ' + (item.confirm ? 'primary' : 'secondary');
      button.dataset.value = item.value;
      button.textContent = item.label;
      button.addEventListener('click', () => action(item));
      actions.appendChild(button);
    });
    renderLinks(screen.links || []);
    focusScan();
  }

  // Documents of the step (e.g. the pack station's labels): fetched with
  // the session header, opened as a PDF in a new tab
  function renderLinks(items) {
    const links = $('links');
    links.replaceChildren();
    links.hidden = !items.length;
    items.forEach((item) => {
      const link = document.createElement('a');
      link.href = item.url;
      link.className = 'document';
      link.target = '_blank';
      link.textContent = item.label;
      link.addEventListener('click', (event) => {
        event.preventDefault();
        openDocument(item.url);
      });
      links.appendChild(link);
    });
  }

  async function openDocument(url) {
    const tab = window.open('', '_blank');
    try {
      const response = await fetch(url, {headers: headers(), credentials: 'same-origin'});
      if (!response.ok) {
        let data = {};
        try { data = await response.json(); } catch (error) { data = {}; }
        if (tab) { tab.close(); }
        showMessage(data.message || ('HTTP ' + response.status), 'error');
        beep(false);
        return;
      }
      const blob = await response.blob();
      const target = URL.createObjectURL(blob);
      if (tab) { tab.location.href = target; } else { window.location.href = target; }
    } catch (error) {
      if (tab) { tab.close(); }
      showMessage(t('offline'), 'error');
      beep(false);
    }
  }

  function focusScan() {
    if (!$('screen').hidden) {
      $('scan').focus({preventScroll: true});
    }
  }

  // Keep the scan field focused: a wedge scanner types into whatever has focus
  function keepFocus() {
    setTimeout(() => {
      const active = document.activeElement;
      if ($('screen').hidden || busy) { return; }
      if (active && (active.id === 'separator' || active.closest('#actions'))) {
        return;
      }
      focusScan();
    }, 0);
  }

  function onKeyDown(event) {
    // Scanners send the GS1 group separator as Ctrl+] or as the raw char
    if (event.key === GS || (event.ctrlKey && (event.key === ']' || event.code === 'BracketRight'))) {
      event.preventDefault();
      const input = event.target;
      const start = input.selectionStart, end = input.selectionEnd;
      input.value = input.value.slice(0, start) + GS + input.value.slice(end);
      input.selectionStart = input.selectionEnd = start + 1;
    }
  }

  function init() {
    translatePage();
    $('separator').value = localStorage.getItem('scanner-separator') || '';
    $('separator').addEventListener('change', () => {
      localStorage.setItem('scanner-separator', $('separator').value);
      focusScan();
    });
    $('login').addEventListener('submit', login);
    $('scan-form').addEventListener('submit', submitScan);
    $('camera').addEventListener('click', startCamera);
    $('camera-close').addEventListener('click', stopCamera);
    $('scan').addEventListener('keydown', onKeyDown);
    $('scan').addEventListener('blur', keepFocus);
    $('home').addEventListener('click', () => { if (session || current) { loadSteps(); } });
    $('logout').addEventListener('click', logout);
    document.addEventListener('click', (event) => {
      if (!event.target.closest('button, input, a')) { focusScan(); }
    });
    loadSteps();
  }

  document.addEventListener('DOMContentLoaded', init);
}());
