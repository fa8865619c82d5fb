// The test gateway's card fields: what a payment provider's script (its hosted fields and
// tokenizer) is to a real checkout. Load it with a plain script tag from the backend's origin; it
// registers itself with Momentum('payment', …). Card numbers stay in these inputs and go only to
// the gateway's token endpoint; the widget receives the one-time token.
(function () {
  var script = document.currentScript;
  var api = new URL(script.src).origin;
  var count = 0;

  function field(container, name, label, attrs) {
    var id = 'm-card-' + name + '-' + ++count;
    var wrap = document.createElement('div');
    wrap.className = 'm-field m-field-' + name;
    var l = document.createElement('label');
    l.htmlFor = id;
    l.textContent = label;
    var input = document.createElement('input');
    input.id = id;
    input.name = name;
    input.type = 'text';
    input.inputMode = 'numeric';
    input.spellcheck = false;
    for (var key in attrs) input.setAttribute(key, attrs[key]);
    wrap.append(l, input);
    container.append(wrap);
    return input;
  }

  var adapter = {
    mount: function (container) {
      var number = field(container, 'number', 'Card number', { autocomplete: 'cc-number', placeholder: '4242 4242 4242 4242' });
      var row = document.createElement('div');
      row.className = 'm-field-row';
      container.append(row);
      field(row, 'expiry', 'Expiry (MM/YY)', { autocomplete: 'cc-exp', placeholder: 'MM/YY' });
      field(row, 'cvc', 'CVC', { autocomplete: 'cc-csc', placeholder: '123' });
      var hint = document.createElement('p');
      hint.className = 'm-muted m-small';
      hint.textContent = 'Test mode: use 4242 4242 4242 4242, any future date and any CVC.';
      container.append(hint);
      number.setAttribute('aria-describedby', 'm-payment-error');
    },
    tokenize: function (details) {
      var fields = details.fields;
      var value = function (name) {
        var input = fields.querySelector('input[name="' + name + '"]');
        return input ? input.value.replace(/\s+/g, '') : '';
      };
      var expiry = value('expiry').split('/');
      var body = { number: value('number') };
      if (expiry[0]) body.exp_month = Number(expiry[0]);
      if (expiry[1]) body.exp_year = 2000 + Number(expiry[1]);
      if (value('cvc')) body.cvc = value('cvc');
      return fetch(api + '/v1/test-gateway/tokens', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }).then(function (response) {
        return response.json().then(function (json) {
          if (!response.ok) throw new Error((json.error && json.error.message) || 'The card was not accepted.');
          return json.token;
        });
      });
    },
  };

  window.Momentum = window.Momentum || function () { (Momentum.q = Momentum.q || []).push(arguments); };
  window.Momentum('payment', adapter);
})();
