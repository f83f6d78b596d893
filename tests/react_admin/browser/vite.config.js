// Relative asset URLs: the same build is served at /admin/ by the API (same origin) and at
// the root of a second server (another origin).
export default {
    base: './',
    logLevel: 'warn',
    build: { chunkSizeWarningLimit: 10000, reportCompressedSize: false },
};
