/*
 * Local stand-in for https://assets.crowd.aws/crowd-html-elements.js (the local MTurk server
 * swaps the CDN script for this one), so crowd-HTML templates work offline.
 *
 * <crowd-form> wraps its children in a <form>; it adds a Submit button only when the form has
 * no element with type="submit" or form-action="submit"; on submit (unless a page listener
 * called preventDefault) it serialises the inputs as the real crowd-form does and posts
 * `assignmentId` and `taskAnswers` (a JSON list of one object) to
 * turkSubmitTo + "/mturk/externalSubmit". Buttons the page owns (a native
 * <button type="submit" disabled>, say) stay under the page's control.
 */
(function () {
  "use strict";
  var PREVIEW = "ASSIGNMENT_ID_NOT_AVAILABLE";

  function param(name) {
    return new URLSearchParams(window.location.search).get(name) || "";
  }

  function serialise(form) {
    var answers = {};
    var fields = form.querySelectorAll("input[name], textarea[name], select[name]");
    Array.prototype.forEach.call(fields, function (field) {
      var type = (field.getAttribute("type") || "").toLowerCase();
      if (field.disabled || type === "submit" || type === "button" || type === "reset") {
        return;
      }
      if (type === "radio" || type === "checkbox") {
        var group = answers[field.name] || {};
        group[field.value] = field.checked;
        answers[field.name] = group;
      } else {
        answers[field.name] = field.value;
      }
    });
    return [answers];
  }

  function post(assignmentId, taskAnswers) {
    var target = document.createElement("form");
    target.method = "POST";
    target.action = param("turkSubmitTo").replace(/\/$/, "") + "/mturk/externalSubmit";
    [["assignmentId", assignmentId], ["taskAnswers", JSON.stringify(taskAnswers)]].forEach(function (pair) {
      var input = document.createElement("input");
      input.type = "hidden";
      input.name = pair[0];
      input.value = pair[1];
      target.appendChild(input);
    });
    target.style.display = "none";
    document.body.appendChild(target);
    HTMLFormElement.prototype.submit.call(target);
  }

  function hasSubmitControl(form) {
    return form.querySelector('[type="submit"], [form-action="submit"]') !== null;
  }

  function upgrade(crowdForm) {
    if (crowdForm.querySelector("form[data-crowd-form]")) {
      return;
    }
    var form = document.createElement("form");
    form.setAttribute("data-crowd-form", "");
    while (crowdForm.firstChild) {
      form.appendChild(crowdForm.firstChild);
    }
    crowdForm.appendChild(form);
    if (!hasSubmitControl(form)) {
      var button = document.createElement("button");
      button.type = "submit";
      button.textContent = "Submit";
      button.setAttribute("data-crowd-submit", "");
      form.appendChild(button);
    }
    form.addEventListener("click", function (event) {
      var action = event.target.closest && event.target.closest('[form-action="submit"]');
      if (action && action.getAttribute("type") !== "submit" && !action.disabled) {
        form.requestSubmit();
      }
    });
  }

  // Listening on window (bubble phase) runs after the page's own submit listeners, so a page
  // that calls preventDefault to block submission keeps that power.
  window.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form || !form.hasAttribute || !form.hasAttribute("data-crowd-form")) {
      return;
    }
    if (event.defaultPrevented) {
      return;
    }
    event.preventDefault();
    var assignmentId = param("assignmentId");
    if (!assignmentId || assignmentId === PREVIEW) {
      window.alert("Accept the HIT before submitting: this is a preview.");
      return;
    }
    post(assignmentId, serialise(form));
  });

  function upgradeAll() {
    Array.prototype.forEach.call(document.querySelectorAll("crowd-form"), upgrade);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", upgradeAll);
  } else {
    upgradeAll();
  }
})();
