// The console's login page, which is also the first operator's (at /console/setup, with the
// setup token in the link's fragment): it POSTs JSON and goes to /console once logged in.
const $ = (id) => document.getElementById(id);
const setup = location.pathname === '/console/setup';

if (setup) {
  document.title = 'Parlor console: first operator';
  $('title').textContent = 'Parlor console: make the first operator';
  $('setup-note').hidden = false;
  $('password-label').textContent = 'Password (10 characters or more)';
  const password = $('login-password');
  password.autocomplete = 'new-password';
  password.minLength = 10;
  $('login-submit').textContent = 'Make the operator and log in';
}

$('login').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const credentials = { name: form.get('name'), password: form.get('password') };
  // The token is in the link's fragment, which browsers never send to a server on their own.
  const [path, body] = setup
    ? ['/console/api/setup', { token: location.hash.slice(1), ...credentials }]
    : ['/console/api/login', credentials];
  const response = await fetch(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (response.ok) {
    location.assign('/console');
    return;
  }
  const answer = await response.json().catch(() => ({ message: response.statusText }));
  $('status').textContent = answer.message;
});
