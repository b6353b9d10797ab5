/* Start the design system's JavaScript components (dkfds.min.js is loaded just before, also
   with defer, so it has run by now). Every page works without this: it only adds behaviour. */
(function () {
  "use strict";
  if (window.DKFDS && typeof window.DKFDS.init === "function") {
    window.DKFDS.init();
  }
})();
