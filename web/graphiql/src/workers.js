// Monaco runs its language services in web workers. They are bundled as
// separate files next to this script (see build.mjs, which defines
// __MONACO_WORKERS__ with their hashed names), so they load from our origin.
/* global __MONACO_WORKERS__ */
export function installWorkers() {
  const files = __MONACO_WORKERS__;
  globalThis.MonacoEnvironment = {
    getWorker(_moduleId, label) {
      const file = files[label] || files.editor;
      return new Worker(new URL(file, import.meta.url), { name: label });
    },
  };
}
