/** The version of tabi; a test keeps it equal to deno.json's. */
export const VERSION: string = "0.1.0";
