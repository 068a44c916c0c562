// Site page: the photo gallery opens a deep-zoom viewer (OpenSeadragon,
// DZI tiles) with previous/next, keyboard and touch.
import { initLanguage } from "./lang.js";

const photos = JSON.parse(document.getElementById("photos").textContent);
const dialog = document.getElementById("viewer");
const caption = document.getElementById("caption");
let viewer = null;
let current = -1;
let opener = null;

function show(index) {
  current = (index + photos.length) % photos.length;
  const photo = photos[current];
  viewer.open(photo.dzi);
  caption.textContent = `${current + 1} / ${photos.length} · ${photo.caption}`;
}

function open(index, from) {
  opener = from;
  dialog.hidden = false;
  if (!viewer) {
    viewer = OpenSeadragon({
      element: document.getElementById("deep-zoom"),
      prefixUrl: "../../viewer/images/",
      showNavigationControl: false,
      gestureSettingsTouch: { pinchRotate: false },
      animationTime: window.matchMedia("(prefers-reduced-motion: reduce)").matches ? 0 : 1.2,
    });
  }
  show(index);
  document.getElementById("close").focus();
}

function close() {
  dialog.hidden = true;
  if (opener) opener.focus();
}

function initGallery() {
  document.querySelectorAll("#gallery button").forEach((button, i) => {
    button.addEventListener("click", () => open(i, button));
  });
  document.getElementById("previous").addEventListener("click", () => show(current - 1));
  document.getElementById("next").addEventListener("click", () => show(current + 1));
  document.getElementById("close").addEventListener("click", close);
  document.getElementById("zoom-in").addEventListener("click", () => viewer.viewport.zoomBy(1.5));
  document.getElementById("zoom-out").addEventListener("click", () => viewer.viewport.zoomBy(1 / 1.5));
  document.addEventListener("keydown", (event) => {
    if (dialog.hidden) return;
    if (event.key === "Escape") close();
    if (event.key === "ArrowLeft") show(current - 1);
    if (event.key === "ArrowRight") show(current + 1);
  });
}

initLanguage();
initGallery();
