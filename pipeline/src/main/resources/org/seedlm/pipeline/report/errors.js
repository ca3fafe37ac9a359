// First script of the page: records every script error and console.error on <html data-seedlm-errors>,
// so a headless browser (and a reader's devtools) sees at once whether the page drew cleanly.
(function () {
  var errors = [];
  function record(message) {
    errors.push(String(message));
    document.documentElement.setAttribute('data-seedlm-errors', JSON.stringify(errors));
  }
  window.addEventListener('error', function (e) { record(e.message || e); });
  window.addEventListener('unhandledrejection', function (e) { record(e.reason); });
  var consoleError = console.error;
  console.error = function () {
    record(Array.prototype.join.call(arguments, ' '));
    return consoleError.apply(console, arguments);
  };
})();
