/* /api/v1/docs: Swagger UI over the generated OpenAPI document. A static file
   (the CSP allows no inline script); validatorUrl null: Swagger UI would
   otherwise ask validator.swagger.io for a badge, and nothing leaves gridgov. */
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  if (!root || !window.SwaggerUIBundle) { return; }
  window.ui = window.SwaggerUIBundle({
    url: root.getAttribute("data-spec-url"),
    domNode: root,
    deepLinking: true,
    validatorUrl: null,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    // the page's own session cookie answers "Try it out" (same origin)
    withCredentials: true
  });
})();
