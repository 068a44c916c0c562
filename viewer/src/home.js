// Home page: language switch and a search over titles and summaries that
// ignores Vietnamese diacritics ("nha tong than" finds "Nhà Tổng Thận").
import { initLanguage } from "./lang.js";

/** Lower case without diacritics; đ counts as d. */
export function fold(text) {
  return text
    .normalize("NFD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/[đĐ]/g, "d")
    .toLowerCase();
}

function initSearch() {
  const input = document.getElementById("search");
  const cards = [...document.querySelectorAll("#cards > li")];
  const none = document.getElementById("no-results");
  const haystacks = cards.map((card) => fold(card.textContent));
  input.addEventListener("input", () => {
    const words = fold(input.value).split(/\s+/).filter(Boolean);
    let shown = 0;
    cards.forEach((card, i) => {
      const match = words.every((w) => haystacks[i].includes(w));
      card.hidden = !match;
      shown += match ? 1 : 0;
    });
    none.hidden = shown > 0;
  });
}

initLanguage();
initSearch();
