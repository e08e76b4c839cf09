// The console's login and first-operator pages: both POST JSON and go to /console once logged in.
const status = document.getElementById('status');

async function submit(path, body) {
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
  status.textContent = answer.message;
}

document.getElementById('login')?.addEventListener('submit', (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  void submit('/console/api/login', { name: form.get('name'), password: form.get('password') });
});

document.getElementById('setup')?.addEventListener('submit', (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  // The token is in the link's fragment, which browsers never send to a server on their own.
  const token = location.hash.slice(1);
  void submit('/console/api/setup', { token, name: form.get('name'), password: form.get('password') });
});
