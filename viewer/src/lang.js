// The language switch: Vietnamese first, English second. Both languages
// are in every page; the stylesheet shows the one named on <html>.

const KEY = "heritage-lang";

/** Shows `lang` ("vi" or "en") and remembers it. */
export function setLanguage(lang) {
  document.documentElement.dataset.lang = lang;
  document.documentElement.lang = lang;
  try {
    localStorage.setItem(KEY, lang);
  } catch {
    // Private browsing: the choice lasts for this page only.
  }
}

/** Applies the remembered language and wires the switch buttons. */
export function initLanguage() {
  let saved = null;
  try {
    saved = localStorage.getItem(KEY);
  } catch {
    saved = null;
  }
  setLanguage(saved === "en" ? "en" : "vi");
  for (const button of document.querySelectorAll(".lang-switch")) {
    button.addEventListener("click", () => {
      setLanguage(document.documentElement.dataset.lang === "vi" ? "en" : "vi");
    });
  }
}
