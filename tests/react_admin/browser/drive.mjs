// Drive the built admin in headless Chromium, as a user would, and report what the page shows.
//
//   node drive.mjs SCENARIO.json
//
// The scenario (written by tests/test_react_admin_browser.py) is
//   {"url": "<the admin's page>", "api": "<the API's base URL>", "chromium": "/usr/bin/chromium",
//    "shots": "<folder for a screenshot of a failed step>", "steps": [...]}
// and each step is {"name", "do": [action, ...], "see": {what: expected}, "timeout": ms}. The
// actions run in order; then the page is read until it shows what "see" expects, for up to
// "timeout" ms (15 s by default). Prints one JSON object on stdout: {"seen": [{"name", "see":
// <what the page showed>}, ...], "failed": null or the step's name, "errors": [page errors,
// failed requests, console errors], "ms": {"launch" or a step's name: milliseconds}}. It stops
// at the first step whose page never matched: that step's "see" is the last thing read, and
// the test compares it with what was expected. The expectations live in the test, not here.
//
// Actions:
//   {"goto": "#/books"}                      the admin page with this hash route
//   {"click": "<selector>"}                  a Playwright selector (css, text=, role=...)
//   {"fill": "<selector>", "value": "..."}   replace an input's text
//   {"choose": "<selector>", "option": "Ann"} open a select and pick the option of that name
//   {"check": "<row text>"}                  tick the checkbox of the list row showing that text
//   {"api": "DELETE", "path": "/books/7"}    a request behind the user's back (another user)
//   {"dismiss": true}                        close the notification on screen
// What the page shows ("see" keys):
//   rows: the list's rows, each the texts of its cells (checkbox column left out)
//   total: the pagination's "1-8 of 8"; notification: the text of the notification on screen
//   helpers: {input name: helper text under it, or null}; values: {input name: its value}
//   route: the hash route without its query; invalid: names of the inputs marked aria-invalid
//   empty: the text of an empty list
import { readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';

const scenario = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const STEP_TIMEOUT = 15_000;

// JSON with object keys sorted, to compare what was seen with what was expected.
const canon = value =>
    JSON.stringify(value, (key, item) =>
        item && typeof item === 'object' && !Array.isArray(item)
            ? Object.fromEntries(Object.entries(item).sort(([a], [b]) => (a < b ? -1 : 1)))
            : item
    );

const started = Date.now();
const browser = await chromium.launch({
    executablePath: scenario.chromium,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
const result = { seen: [], failed: null, errors: [], ms: {} };
try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(STEP_TIMEOUT);
    page.on('pageerror', error => result.errors.push(`page error: ${error.message}`));
    page.on('requestfailed', request =>
        result.errors.push(`${request.method()} ${request.url()}: ${request.failure()?.errorText}`)
    );
    page.on('console', message => {
        if (message.type() === 'error') result.errors.push(`console: ${message.text()}`);
    });
    let loaded = false;

    const actions = {
        async goto(action) {
            if (!loaded) {
                await page.goto(scenario.url + action.goto);
                loaded = true;
            } else {
                await page.evaluate(hash => (window.location.hash = hash), action.goto);
            }
        },
        click: action => page.locator(action.click).first().click(),
        fill: action => page.locator(action.fill).first().fill(action.value),
        async choose(action) {
            await page.locator(action.choose).first().click();
            await page.getByRole('option', { name: action.option, exact: true }).click();
        },
        check: action =>
            page
                .locator('.RaDatagrid-tbody tr', { hasText: action.check })
                .locator('input[type=checkbox]')
                .check(),
        async api(action) {
            const response = await fetch(scenario.api + action.path, { method: action.api });
            if (!response.ok) throw new Error(`${action.api} ${action.path}: ${response.status}`);
        },
        async dismiss() {
            await page.keyboard.press('Escape');
            await page.locator('.MuiSnackbar-root').waitFor({ state: 'detached' });
        },
    };

    // Read, in the page, what the step's "see" asks about.
    const read = see =>
        page.evaluate(see => {
            const text = element => (element?.textContent ?? '').replace(/\u200b/g, '').trim();
            const shown = {};
            for (const key of Object.keys(see)) {
                if (key === 'rows') {
                    shown.rows = [...document.querySelectorAll('.RaDatagrid-tbody tr')].map(row =>
                        [...row.querySelectorAll('td')]
                            .filter(cell => !cell.querySelector('input[type=checkbox]'))
                            .map(text)
                    );
                } else if (key === 'total') {
                    shown.total = text(document.querySelector('.MuiTablePagination-displayedRows'));
                } else if (key === 'notification') {
                    shown.notification = text(document.querySelector('.MuiSnackbarContent-message'));
                } else if (key === 'empty') {
                    const empty = '.RaEmpty-message, .RaList-content > .MuiCardContent-root';
                    shown.empty = text(document.querySelector(empty));
                } else if (key === 'route') {
                    shown.route = window.location.hash.split('?')[0];
                } else if (key === 'invalid') {
                    shown.invalid = [...document.querySelectorAll('[aria-invalid=true]')].map(
                        input => input.name
                    );
                } else if (key === 'helpers' || key === 'values') {
                    shown[key] = {};
                    for (const name of Object.keys(see[key])) {
                        const input = document.querySelector(`form [name="${name}"]`);
                        const control = input?.closest('.MuiFormControl-root');
                        shown[key][name] = !input
                            ? null
                            : key === 'values'
                              ? input.value
                              : text(control?.querySelector('.MuiFormHelperText-root')) || null;
                    }
                }
            }
            return shown;
        }, see);

    result.ms.launch = Date.now() - started;
    for (const step of scenario.steps) {
        const stepStarted = Date.now();
        let shown;
        try {
            for (const action of step.do ?? []) {
                const kind = Object.keys(actions).find(name => name in action);
                await actions[kind](action);
            }
            const deadline = Date.now() + (step.timeout ?? STEP_TIMEOUT);
            const want = canon(step.see ?? {});
            for (;;) {
                shown = await read(step.see ?? {});
                if (canon(shown) === want || Date.now() > deadline) break;
                await page.waitForTimeout(50);
            }
        } catch (error) {
            shown = { action_failed: String(error.message ?? error).split('\n')[0] };
        }
        result.seen.push({ name: step.name, see: shown });
        result.ms[step.name] = Date.now() - stepStarted;
        if (canon(shown) !== canon(step.see ?? {})) {
            result.failed = step.name;
            if (scenario.shots) {
                await page.screenshot({ path: `${scenario.shots}/${step.name}.png` });
            }
            break;
        }
    }
} finally {
    await browser.close();
}
console.log(JSON.stringify(result));
