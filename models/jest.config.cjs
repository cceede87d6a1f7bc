module.exports = require('@trustvision/jest-preset')(__dirname);
