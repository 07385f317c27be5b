// recordbase console: small progressive enhancements; every page works without them.
"use strict";

// Confirm destructive posts.
document.addEventListener("submit", (event) => {
  const message = event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});

// "Select all" in the records grid.
document.querySelectorAll("[data-select-all]").forEach((box) => {
  box.addEventListener("change", () => {
    box.closest("form").querySelectorAll('input[name="id"]').forEach((row) => { row.checked = box.checked; });
  });
});

// Offer only the operators the chosen field's type accepts.
document.querySelectorAll("select[data-operators]").forEach((fieldSelect) => {
  const opSelect = fieldSelect.parentElement.querySelector('select[name="op"]');
  const sync = () => {
    const chosen = fieldSelect.selectedOptions[0];
    const ops = chosen && chosen.dataset.ops ? chosen.dataset.ops.split("|") : null;
    Array.from(opSelect.options).forEach((option) => { option.hidden = ops !== null && !ops.includes(option.value); });
    if (ops && !ops.includes(opSelect.value)) opSelect.value = ops[0];
  };
  fieldSelect.addEventListener("change", sync);
  sync();
});

// Field-type specific options in the add-field form.
const typeSelect = document.getElementById("field-type");
if (typeSelect) {
  const sync = () => {
    document.querySelectorAll("fieldset[data-for]").forEach((set) => {
      set.hidden = !set.dataset.for.split(" ").includes(typeSelect.value);
    });
  };
  typeSelect.addEventListener("change", sync);
  sync();
}

// Relationship pickers: search the target entity as the user types.
document.querySelectorAll("input[data-search]").forEach((input) => {
  const list = document.getElementById(input.getAttribute("list"));
  let timer = null;
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const response = await fetch(input.dataset.search + "?q=" + encodeURIComponent(input.value));
      if (!response.ok) return;
      list.replaceChildren(...(await response.json()).map((found) => {
        const option = document.createElement("option");
        option.value = found.id;
        option.label = found.label;
        return option;
      }));
    }, 200);
  });
});

// CSV import with upload progress; the server's result page replaces the result area.
document.querySelectorAll("form[data-progress]").forEach((form) => {
  const bar = document.getElementById(form.dataset.progress);
  const text = document.getElementById(form.dataset.progress + "-text");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const request = new XMLHttpRequest();
    request.open("POST", form.action);
    bar.hidden = false;
    request.upload.addEventListener("progress", (progress) => {
      if (progress.lengthComputable) bar.value = Math.round((100 * progress.loaded) / progress.total);
      text.textContent = "Uploading… " + bar.value + " %";
    });
    request.upload.addEventListener("load", () => { text.textContent = "Uploaded; importing rows…"; });
    request.addEventListener("load", () => {
      const page = new DOMParser().parseFromString(request.responseText, "text/html");
      const result = page.getElementById("import-result");
      const alert = page.querySelector(".alert");
      text.textContent = request.status < 400 ? "Done." : "Import failed.";
      document.getElementById("import-result").replaceChildren(...(result || alert || page.body).childNodes);
    });
    request.send(new FormData(form));
  });
});
