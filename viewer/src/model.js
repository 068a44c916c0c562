// The 3D view and the photo tour, in the spirit of Photo Tourism: the
// site's sparse model (coloured points, camera frusta) in three.js with
// orbit controls; choosing a camera flies the view to where that photo was
// taken, cross-fades into the photo, then the deep-zoom viewer can take
// over; arrows move to the nearest photo to the left or right, closer
// or farther back.
import * as THREE from "three";
import { GLTFLoader } from "./lib/three/examples/jsm/loaders/GLTFLoader.js";
import { OrbitControls } from "./lib/three/examples/jsm/controls/OrbitControls.js";
import { MeshoptDecoder } from "./lib/three/examples/jsm/libs/meshopt_decoder.module.js";

const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
const FLIGHT_MS = reducedMotion ? 0 : 1200;
/** The tour's arrow keys and the way each steps (tour.json's lists). */
const KEY_WAYS = { ArrowLeft: "left", ArrowRight: "right", ArrowUp: "closer", ArrowDown: "farther" };

/** Eases a flight in and out. */
function ease(t) {
  return t < 0.5 ? 2 * t * t : 1 - (-2 * t + 2) ** 2 / 2;
}

/**
 * Starts the 3D view in `section` (the page's #model). `openPhoto(id)`
 * hands a photo over to the deep-zoom viewer.
 */
export async function initModel(section, openPhoto) {
  const canvas = section.querySelector("#model-canvas");
  const stage = section.querySelector("#stage");
  const poster = section.querySelector("#poster");
  const photoLayer = section.querySelector("#tour-photo");
  const caption = section.querySelector("#tour-caption");
  const detail = section.querySelector("#tour-detail");

  const tour = await (await fetch(section.dataset.tour)).json();
  const photos = tour.photos;
  const renderer = new THREE.WebGLRenderer({ canvas, antialias: true, preserveDrawingBuffer: true });
  renderer.setPixelRatio(Math.min(window.devicePixelRatio, 2));
  const scene = new THREE.Scene();
  scene.background = new THREE.Color(0xeef0f2);
  const camera = new THREE.PerspectiveCamera(50, 1, tour.extent / 500, tour.extent * 50);
  const controls = new OrbitControls(camera, canvas);
  controls.enableDamping = !reducedMotion;

  const loader = new GLTFLoader();
  loader.setMeshoptDecoder(MeshoptDecoder);
  const gltf = await loader.loadAsync(section.dataset.glb);
  gltf.scene.traverse((object) => {
    if (object.isPoints) {
      object.material.size = tour.extent / 120;
      object.material.sizeAttenuation = true;
    }
  });
  scene.add(gltf.scene);

  // A dot at every camera, the target of clicks and taps.
  const dots = new THREE.Group();
  const dotGeometry = new THREE.SphereGeometry(tour.extent / 90, 12, 8);
  const dotMaterial = new THREE.MeshBasicMaterial({ color: 0xe65a28 });
  photos.forEach((photo, index) => {
    if (photo.id === null) return;
    const dot = new THREE.Mesh(dotGeometry, dotMaterial);
    dot.position.fromArray(photo.position);
    dot.userData.index = index;
    dots.add(dot);
  });
  scene.add(dots);

  // The overview: above and in front of the model, looking at its centre.
  const centre = new THREE.Vector3().fromArray(tour.centre);
  const overview = {
    position: centre.clone().add(new THREE.Vector3(0, tour.extent * 0.9, tour.extent * 1.6)),
    quaternion: null,
    fov: 50,
  };
  camera.position.copy(overview.position);
  camera.lookAt(centre);
  overview.quaternion = camera.quaternion.clone();
  controls.target.copy(centre);

  function resize() {
    const { width, height } = stage.getBoundingClientRect();
    renderer.setSize(width, height, false);
    camera.aspect = width / Math.max(height, 1);
    camera.updateProjectionMatrix();
  }
  new ResizeObserver(resize).observe(stage);
  resize();

  let flight = null;
  let current = -1;
  renderer.setAnimationLoop((now) => {
    if (flight) {
      const t = flight.duration ? Math.min((now - flight.start) / flight.duration, 1) : 1;
      const k = ease(t);
      camera.position.lerpVectors(flight.from.position, flight.to.position, k);
      camera.quaternion.slerpQuaternions(flight.from.quaternion, flight.to.quaternion, k);
      camera.fov = flight.from.fov + (flight.to.fov - flight.from.fov) * k;
      camera.updateProjectionMatrix();
      if (t >= 1) {
        const done = flight.done;
        flight = null;
        done();
      }
    } else if (current < 0) {
      controls.update();
    }
    renderer.render(scene, camera);
  });
  poster.hidden = true;
  section.dataset.ready = "true";

  function flyTo(to, done) {
    const from = { position: camera.position.clone(), quaternion: camera.quaternion.clone(), fov: camera.fov };
    flight = { from, to, start: performance.now(), duration: FLIGHT_MS, done };
  }

  /** Flies to photo `index`, then fades the photo in over the view. */
  function visit(index) {
    const photo = photos[index];
    current = index;
    controls.enabled = false;
    photoLayer.classList.remove("shown");
    section.dataset.photo = String(index);
    detail.disabled = true;
    const to = {
      position: new THREE.Vector3().fromArray(photo.position),
      quaternion: new THREE.Quaternion().fromArray(photo.quaternion),
      fov: photo.fov_y,
    };
    flyTo(to, () => {
      if (current !== index) return;
      photoLayer.src = `photos/${photo.id}/preview.jpg`;
      photoLayer.alt = photo.name;
      photoLayer.classList.add("shown");
      caption.textContent = `${photo.name}`;
      detail.disabled = false;
    });
  }

  function backToOverview() {
    current = -1;
    delete section.dataset.photo;
    photoLayer.classList.remove("shown");
    detail.disabled = true;
    flyTo(overview, () => {
      controls.enabled = true;
    });
  }

  /**
   * Where an arrow goes one `way` ("left", "right", "closer" or
   * "farther"): the nearest published photo that way (tour.json lists
   * them), or from the overview the first photo.
   */
  function neighbour(way) {
    if (current < 0) {
      return photos.findIndex((p) => p.id !== null);
    }
    return photos[current][way].find((i) => photos[i].id !== null) ?? -1;
  }

  function step(way) {
    const next = neighbour(way);
    if (next >= 0) visit(next);
  }

  const pointer = new THREE.Vector2();
  const raycaster = new THREE.Raycaster();
  let down = null;
  canvas.addEventListener("pointerdown", (event) => {
    down = [event.clientX, event.clientY];
  });
  canvas.addEventListener("pointerup", (event) => {
    // A click, not the end of a drag.
    if (!down || Math.hypot(event.clientX - down[0], event.clientY - down[1]) > 5) return;
    const rect = canvas.getBoundingClientRect();
    pointer.set(((event.clientX - rect.left) / rect.width) * 2 - 1, -((event.clientY - rect.top) / rect.height) * 2 + 1);
    raycaster.setFromCamera(pointer, camera);
    const hit = raycaster.intersectObjects(dots.children)[0];
    if (hit) visit(hit.object.userData.index);
  });
  canvas.addEventListener("keydown", (event) => {
    if (KEY_WAYS[event.key]) {
      event.preventDefault();
      step(KEY_WAYS[event.key]);
    }
    if (event.key === "Escape") backToOverview();
  });
  for (const way of Object.values(KEY_WAYS)) {
    section.querySelector(`#tour-${way}`).addEventListener("click", () => step(way));
  }
  section.querySelector("#tour-overview").addEventListener("click", backToOverview);
  detail.addEventListener("click", () => {
    if (current >= 0) openPhoto(photos[current].id, detail);
  });
}
