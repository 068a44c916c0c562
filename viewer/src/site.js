// Site page: the photo gallery opens a deep-zoom viewer (OpenSeadragon,
// DZI tiles) with previous/next, keyboard and touch; when the site has a
// 3D model, the 3D view and photo tour load on demand (model.js), and
// browsers without WebGL keep the gallery alone.
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
  viewer.element.setAttribute("aria-busy", "true");
  // A photo that shows turned (no EXIF tag said how it was held) is
  // turned upright here; its tiles are cut from the file as it is.
  viewer.open({ tileSource: photo.dzi, degrees: photo.turn });
  caption.textContent = `${current + 1} / ${photos.length} · ${photo.caption}`;
}

function open(index, from) {
  opener = from;
  dialog.hidden = false;
  if (!viewer) {
    viewer = OpenSeadragon({
      element: document.getElementById("deep-zoom"),
      prefixUrl: "../../viewer/lib/openseadragon/build/openseadragon/images/",
      showNavigationControl: false,
      gestureSettingsTouch: { pinchRotate: false },
      animationTime: window.matchMedia("(prefers-reduced-motion: reduce)").matches ? 0 : 1.2,
    });
    // aria-busy while the tiles for the current view are still loading.
    viewer.world.addHandler("add-item", ({ item }) =>
      item.addHandler("fully-loaded-change", ({ fullyLoaded }) =>
        viewer.element.setAttribute("aria-busy", String(!fullyLoaded)),
      ),
    );
  }
  show(index);
  document.getElementById("close").focus();
}

function close() {
  dialog.hidden = true;
  if (opener) opener.focus();
}

function initGallery() {
  // Each photo links to its preview image, which is what a tap opens
  // before this script runs; here it opens the deep zoom instead, unless
  // the visitor asked for a new tab or window.
  document.querySelectorAll("#gallery a").forEach((link, i) => {
    link.addEventListener("click", (event) => {
      if (event.ctrlKey || event.metaKey || event.shiftKey) return;
      event.preventDefault();
      open(i, link);
    });
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

/** Whether this browser can draw WebGL at all. */
function hasWebGL() {
  try {
    const canvas = document.createElement("canvas");
    return Boolean(canvas.getContext("webgl2") || canvas.getContext("webgl"));
  } catch {
    return false;
  }
}

/** The 3D view cannot run here: say so, and leave the gallery. */
function withoutModel(section) {
  section.querySelector("#stage").hidden = true;
  section.querySelector("#tour-bar").hidden = true;
  section.querySelector("#tour-caption").hidden = true;
  section.querySelector("#no-webgl").hidden = false;
}

/**
 * Starts the 3D view once the page has loaded and the section is on
 * screen: three.js is the heaviest file of the site, and the gallery and
 * deep zoom should not wait for it.
 */
function initModelView() {
  const section = document.getElementById("model");
  if (!section) return;
  if (!hasWebGL()) {
    withoutModel(section);
    return;
  }
  const start = () =>
    import("./model.js")
      .then(({ initModel }) => initModel(section, (id, from) => open(photos.findIndex((p) => p.id === id), from)))
      .catch((error) => {
        console.error("3D view:", error);
        withoutModel(section);
      });
  const whenVisible = () => {
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((entry) => entry.isIntersecting)) {
        observer.disconnect();
        start();
      }
    });
    observer.observe(section);
  };
  if (document.readyState === "complete") whenVisible();
  else window.addEventListener("load", whenVisible, { once: true });
}

initLanguage();
initGallery();
initModelView();
