// The `mnist` package ships no types; its CommonJS export is an array of 10 digit objects plus helpers.
declare module 'mnist' {
  const mnist: unknown;
  export default mnist;
}
